import type { Modifier } from "./keys";
import { terminalError } from "./reasons";

export type Button = "left" | "middle" | "right";

const BUTTON_CODES: Record<Button, number> = { left: 0, middle: 1, right: 2 };

export function parseButton(name: string): Button {
  if (name === "left" || name === "middle" || name === "right") return name;
  throw terminalError("invalid_button", `unknown mouse button "${name}"; use left, right or middle`);
}

export function parseMouseAction(action: string | undefined): "press" | "release" {
  if (action === undefined || action === "" || action === "press") return "press";
  if (action === "release") return "release";
  throw terminalError("invalid_argument", `unknown mouse action "${action}"; use press or release`);
}

const MOMENTUM = new Set(["none", "began", "changed", "ended", "cancelled", "stationary"]);

export function checkMomentum(momentum: string | undefined): void {
  if (momentum !== undefined && momentum !== "" && !MOMENTUM.has(momentum)) {
    throw terminalError("invalid_argument", `unknown scroll momentum "${momentum}"; use ${[...MOMENTUM].join(", ")}`);
  }
}

/** A cell, 0-based, in the viewport. */
export interface Cell {
  readonly column: number;
  readonly row: number;
}

/** A point inside the surface to the cell under it: floor(x / cell_width), clamped to the grid. */
export function cellAt(x: number, y: number, cell: { width: number; height: number }, grid: { columns: number; rows: number }): Cell {
  const clamp = (v: number, max: number) => Math.min(Math.max(Math.floor(v), 0), max - 1);
  return { column: clamp(x / cell.width, grid.columns), row: clamp(y / cell.height, grid.rows) };
}

export type MouseEventKind =
  | { readonly kind: "press" | "release"; readonly button: Button }
  | { readonly kind: "motion"; readonly button: Button | undefined }
  | { readonly kind: "wheel"; readonly direction: "up" | "down" | "left" | "right" };

const WHEEL: Record<string, number> = { up: 64, down: 65, left: 66, right: 67 };

/**
 * A mouse event as the program asked to hear it (DECSET 9/1000/1002/1003), in SGR form (1006)
 * `CSI < b;x;y M|m` or else the legacy `CSI M` bytes; undefined when the mode does not report it.
 * Legacy reports are bytes, one per value: as text, a column past 95 would go out as two UTF-8 bytes.
 */
export function encodeMouse(
  event: MouseEventKind,
  at: Cell,
  mods: ReadonlySet<Modifier>,
  tracking: "none" | "x10" | "vt200" | "drag" | "any",
  sgr: boolean,
): string | Uint8Array | undefined {
  if (tracking === "none") return undefined;
  if (tracking === "x10" && event.kind !== "press") return undefined;
  if (event.kind === "motion" && (tracking === "vt200" || (tracking === "drag" && event.button === undefined))) return undefined;
  let code =
    event.kind === "wheel" ? (WHEEL[event.direction] ?? 64) : event.kind === "motion" ? 32 + (event.button ? BUTTON_CODES[event.button] : 3) : BUTTON_CODES[event.button];
  if (tracking !== "x10") code += (mods.has("shift") ? 4 : 0) + (mods.has("option") ? 8 : 0) + (mods.has("control") ? 16 : 0);
  const x = at.column + 1;
  const y = at.row + 1;
  if (sgr) return `\x1b[<${code};${x};${y}${event.kind === "release" ? "m" : "M"}`;
  // Legacy encoding: a release is button 3, and coordinates past 223 cannot be sent.
  if (event.kind === "release") code = (code & ~3) | 3;
  if (x > 223 || y > 223) return undefined;
  return Uint8Array.of(0x1b, 0x5b, 0x4d, 32 + code, 32 + x, 32 + y);
}
