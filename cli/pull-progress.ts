import { formatSize, type PullLine } from "../server/supervisor/runtime/container/pull-lines";

/**
 * What the pull lines of a project's log (docs/containers.md) tell of each image, and how
 * `ghostctl open` draws it: one line per image, a bar and what it is doing. Pure: the terminal
 * side is open-progress.ts.
 */

/** A layer counts as had once the engine says it is there, whatever it does with it after. */
const LAYER_DONE = new Set(["Already exists", "Download complete", "Pull complete"]);

interface Layer {
  readonly done: boolean;
  /** 0..1 of the current step, when its bytes were told. */
  readonly fraction: number;
  readonly total?: number;
}

export interface ImagePull {
  readonly image: string;
  readonly state: "pulling" | "pulled" | "failed";
  /** Layers in the order the engine first named them. */
  readonly layers: ReadonlyMap<string, Layer>;
  /** The pulled line's digest and size, or the failure's reason. */
  readonly detail?: string;
}

/** Images in the order their pulls started. */
export type PullBoard = ReadonlyMap<string, ImagePull>;

export const emptyBoard: PullBoard = new Map();

/** The board after one more pull line; the same line twice (one per service of the image) changes nothing more. */
export function applyPullLine(board: PullBoard, line: PullLine): PullBoard {
  const before = board.get(line.image) ?? { image: line.image, state: "pulling", layers: new Map<string, Layer>() };
  const next = new Map(board);
  next.set(line.image, nextPull(before, line));
  return next;
}

function nextPull(pull: ImagePull, line: PullLine): ImagePull {
  switch (line.kind) {
    case "start":
      return pull.state === "pulling" ? pull : { image: pull.image, state: "pulling", layers: new Map() };
    case "layer": {
      const layers = new Map(pull.layers);
      const was = layers.get(line.layer);
      const done = (was?.done ?? false) || LAYER_DONE.has(line.status);
      // A status without bytes (Waiting, Verifying Checksum) keeps how far the layer was.
      const fraction = line.bytes ? line.bytes.percent / 100 : done ? 1 : (was?.fraction ?? 0);
      const total = line.bytes?.total ?? was?.total;
      layers.set(line.layer, { done, fraction, ...(total === undefined ? {} : { total }) });
      return { ...pull, layers };
    }
    case "pulled":
      return { ...pull, state: "pulled", ...(line.detail === undefined ? {} : { detail: line.detail }) };
    case "failed":
      return { ...pull, state: "failed", detail: line.reason };
  }
}

/** Marks images pulled (OpenProject's images_pulled), for the lines the log had not brought yet. */
export function markPulled(board: PullBoard, images: readonly string[]): PullBoard {
  let next = board;
  for (const image of images) if (next.get(image)?.state !== "pulled") next = applyPullLine(next, { kind: "pulled", image });
  return next;
}

/** How far an image's pull is, 0..1: each layer alike, a had layer whole. */
export function fractionOf(pull: ImagePull): number {
  if (pull.state === "pulled") return 1;
  const layers = [...pull.layers.values()];
  if (layers.length === 0) return 0;
  return layers.reduce((sum, layer) => sum + (layer.done ? 1 : layer.fraction), 0) / layers.length;
}

const BAR = 20;

/** `[#########-----------]  45%` */
export function bar(fraction: number): string {
  const clamped = Math.min(Math.max(fraction, 0), 1);
  const filled = Math.floor(clamped * BAR);
  return `[${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%`;
}

/** What an image's line says after its bar. */
function status(pull: ImagePull): string {
  // A digest's first 12 digits, as engines show ids: the whole of it is in the log.
  if (pull.state === "pulled") return pull.detail === undefined ? "pulled" : `pulled (${pull.detail.replace(/\b(sha256:[0-9a-f]{12})[0-9a-f]{52}\b/, "$1")})`;
  if (pull.state === "failed") return `failed: ${pull.detail ?? ""}`;
  const layers = [...pull.layers.values()];
  if (layers.length === 0) return "starting";
  const bytes = layers.reduce((sum, layer) => sum + (layer.total ?? 0), 0);
  return `${layers.filter((l) => l.done).length}/${layers.length} layers${bytes > 0 ? `, ${formatSize(bytes)}` : ""}`;
}

/**
 * One line per image, each cut to fit `columns` (a line that wraps would break the redraw in
 * place): `[####----]  40% IMAGE  2/5 layers, 27.1 MB`.
 */
export function renderBoard(board: PullBoard, columns: number): string[] {
  const width = Math.max(columns - 1, 10);
  return [...board.values()].map((pull) => cut(`${bar(fractionOf(pull))} ${pull.image}  ${status(pull)}`, width));
}

/** Cut by characters as people see them, so no emoji or accent is split (wide ones count as one). */
export function cut(text: string, width: number): string {
  const graphemes = [...new Intl.Segmenter().segment(text)].map((s) => s.segment);
  return graphemes.length <= width ? text : `${graphemes.slice(0, width - 1).join("")}…`;
}
