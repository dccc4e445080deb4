import type { Point } from "./buffer-text";
import { encodeKey, parseMods, type Modifier } from "./keys";
import { cellAt, checkMomentum, encodeMouse, parseButton, parseMouseAction, type Button, type MouseEventKind } from "./mouse";
import { terminalError } from "./reasons";
import type { Session } from "./session";

/** Enough for any real gesture; a larger delta would only queue megabytes of reports in the PTY. */
const MAX_WHEEL_STEPS = 1000;

interface PointerState {
  x: number;
  y: number;
  pressed: Set<Button>;
  selecting: boolean;
  selection: { anchor: Point; head: Point } | undefined;
}

/** The pixel size of a session's cells, which turns pointer positions into cells. */
export type CellSize = (session: Session) => { width: number; height: number };

/**
 * Each terminal's mouse and selection. Mouse events go to the program when it asked for mouse
 * reports; when it did not, the left button selects text and the wheel scrolls.
 */
export class Pointers {
  private readonly states = new Map<string, PointerState>();

  constructor(private readonly cellSize: CellSize) {}

  button(session: Session, buttonName: string, actionName: string | undefined, modNames: readonly string[]): void {
    const button = parseButton(buttonName);
    const action = parseMouseAction(actionName);
    const mods = parseMods(modNames);
    const state = this.state(session.id);
    if (action === "press") state.pressed.add(button);
    else state.pressed.delete(button);
    if (this.report(session, { kind: action, button }, mods)) return;
    if (button !== "left") return;
    const point = this.point(session, state);
    if (action === "press") {
      state.selecting = true;
      state.selection = { anchor: point, head: point };
    } else if (state.selecting) {
      state.selecting = false;
      const selection = state.selection;
      // A click without a drag selects nothing.
      if (selection && selection.anchor.x === point.x && selection.anchor.y === point.y) state.selection = undefined;
    }
  }

  position(session: Session, x: number, y: number, modNames: readonly string[]): void {
    const mods = parseMods(modNames);
    checkFinite(x, y);
    const state = this.state(session.id);
    state.x = x;
    state.y = y;
    const held = [...state.pressed][0];
    if (this.report(session, { kind: "motion", button: held }, mods)) return;
    if (state.selecting && state.selection) state.selection.head = this.point(session, state);
  }

  /**
   * `precision` deltas are pixels, others lines; a positive y scrolls up, toward older output. One
   * call sends at most MAX_WHEEL_STEPS wheel reports or arrow keys, however large the delta.
   */
  scroll(session: Session, x: number, y: number, precision: boolean, momentum: string | undefined): void {
    checkMomentum(momentum);
    checkFinite(x, y);
    const cell = this.cellSize(session);
    const steps = (delta: number, size: number): number => {
      const lines = Math.abs(precision ? delta / size : delta);
      return delta === 0 ? 0 : Math.min(MAX_WHEEL_STEPS, Math.max(1, Math.round(lines)));
    };
    const vertical = steps(y, cell.height);
    const horizontal = steps(x, cell.width);
    const modes = session.emulator.modes;
    if (modes.mouseTracking !== "none") {
      const mods = new Set<Modifier>();
      for (let i = 0; i < vertical; i++) this.report(session, { kind: "wheel", direction: y > 0 ? "up" : "down" }, mods);
      for (let i = 0; i < horizontal; i++) this.report(session, { kind: "wheel", direction: x > 0 ? "left" : "right" }, mods);
      return;
    }
    if (vertical === 0) return;
    if (modes.alternateScreen) {
      // Full-screen programs without mouse tracking scroll with the arrow keys.
      const arrow = encodeKey({ key: y > 0 ? "up" : "down", mods: new Set(), action: "press" }, { applicationCursorKeys: modes.applicationCursorKeys, kittyFlags: 0 });
      session.send(arrow.bytes.repeat(vertical));
      return;
    }
    session.emulator.scrollLines(y > 0 ? -vertical : vertical);
  }

  selectionText(session: Session): string {
    const selection = this.states.get(session.id)?.selection;
    return selection ? session.emulator.range(selection.anchor, selection.head) : "";
  }

  /** Selects the whole buffer, scrollback included. */
  selectAll(session: Session): void {
    const { length } = session.emulator.viewport;
    this.state(session.id).selection = { anchor: { x: 0, y: 0 }, head: { x: session.emulator.columns - 1, y: Math.max(0, length - 1) } };
  }

  /** Drops the selection, as clearing or resetting the screen does to the text under it. */
  clearSelection(session: Session): void {
    this.state(session.id).selection = undefined;
  }

  /** The terminal closed. */
  forget(id: string): void {
    this.states.delete(id);
  }

  private state(id: string): PointerState {
    let state = this.states.get(id);
    if (!state) {
      state = { x: 0, y: 0, pressed: new Set(), selecting: false, selection: undefined };
      this.states.set(id, state);
    }
    return state;
  }

  /** Reports a mouse event to the program when it asked for mouse events; false when it did not. */
  private report(session: Session, event: MouseEventKind, mods: ReadonlySet<Modifier>): boolean {
    const modes = session.emulator.modes;
    if (modes.mouseTracking === "none") return false;
    const state = this.state(session.id);
    const cell = cellAt(state.x, state.y, this.cellSize(session), session.emulator);
    const bytes = encodeMouse(event, cell, mods, modes.mouseTracking, modes.sgrMouse);
    if (bytes) session.write(bytes);
    return true;
  }

  /** The buffer point under the pointer. */
  private point(session: Session, state: PointerState): Point {
    const cell = cellAt(state.x, state.y, this.cellSize(session), session.emulator);
    return { x: cell.column, y: session.emulator.viewport.top + cell.row };
  }
}

function checkFinite(x: number, y: number): void {
  if (!Number.isFinite(x) || !Number.isFinite(y)) throw terminalError("invalid_argument", "x and y must be finite numbers");
}
