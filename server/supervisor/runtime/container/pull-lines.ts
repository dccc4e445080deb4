/**
 * The lines an image pull writes into the log of each service of the image, in a format that
 * people read and `ghostctl open` parses (docs/containers.md, "Pull progress in the log"):
 *
 *   pulling IMAGE
 *   pulling IMAGE: LAYER STATUS
 *   pulling IMAGE: LAYER STATUS PERCENT% of SIZE
 *   pulled IMAGE (DIGEST, SIZE)
 *   pull failed IMAGE: REASON
 *
 * An image reference has no spaces, and a layer is the engine's short id, so each part is found
 * by the spaces around it. Stored as the supervisor's notes, each line starts with `[ghostd] `.
 */

/** One pull line, as written and as parsed back. */
export type PullLine =
  | { readonly kind: "start"; readonly image: string }
  | { readonly kind: "layer"; readonly image: string; readonly layer: string; readonly status: string; readonly bytes?: LayerBytes }
  | { readonly kind: "pulled"; readonly image: string; readonly detail?: string }
  | { readonly kind: "failed"; readonly image: string; readonly reason: string };

/** How far a layer's transfer is, as far as the line tells it (its percent, and the total rounded). */
export interface LayerBytes {
  readonly percent: number;
  readonly total: number;
}

const NOTE_PREFIX = "[ghostd] ";

const UNITS = ["B", "kB", "MB", "GB", "TB"] as const;

/** 1234567 → `1.2 MB` (decimal units, as engines print image sizes). */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `1.2 MB` → 1200000; undefined for anything formatSize does not write. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?) (B|kB|MB|GB|TB)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * 1000 ** UNITS.indexOf(match[2] as (typeof UNITS)[number]);
}

/** The line without the `[ghostd] ` its log adds. */
export function formatPullLine(line: PullLine): string {
  switch (line.kind) {
    case "start":
      return `pulling ${line.image}`;
    case "layer":
      return `pulling ${line.image}: ${line.layer} ${line.status}${line.bytes ? ` ${line.bytes.percent}% of ${formatSize(line.bytes.total)}` : ""}`;
    case "pulled":
      return `pulled ${line.image}${line.detail === undefined ? "" : ` (${line.detail})`}`;
    case "failed":
      return `pull failed ${line.image}: ${line.reason}`;
  }
}

const LAYER = /^pulling (\S+): (\S+) (.+?)(?: (\d{1,3})% of (\d+(?:\.\d+)? [kMGT]?B))?$/;

/** A pull line back from a log line (with or without its `[ghostd] `); undefined for any other line. */
export function parsePullLine(text: string): PullLine | undefined {
  const line = text.startsWith(NOTE_PREFIX) ? text.slice(NOTE_PREFIX.length) : text;
  let match = /^pulling (\S+)$/.exec(line);
  if (match) return { kind: "start", image: match[1] ?? "" };
  match = LAYER.exec(line);
  if (match) {
    const [, image = "", layer = "", status = "", percent, size] = match;
    const total = size === undefined ? undefined : parseSize(size);
    return { kind: "layer", image, layer, status, ...(percent !== undefined && total !== undefined ? { bytes: { percent: Number(percent), total } } : {}) };
  }
  match = /^pulled (\S+)(?: \((.*)\))?$/.exec(line);
  if (match) return { kind: "pulled", image: match[1] ?? "", ...(match[2] === undefined ? {} : { detail: match[2] }) };
  match = /^pull failed (\S+): (.*)$/.exec(line);
  if (match) return { kind: "failed", image: match[1] ?? "", reason: match[2] ?? "" };
  return undefined;
}
