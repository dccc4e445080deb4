import {
  SnapshotOperation,
  SnapshotPhase,
  snapshotOperationToJSON,
  snapshotPhaseToJSON,
  type WatchSnapshotProgressResponse,
} from "../generated/ghostd/supervisor/v1/progress";
import type { ProgressTerminal } from "./open-progress";
import { bar, cut } from "./pull-progress";

/**
 * The bar `ghostctl snapshot save`, `snapshot restore` and `duplicate` draw on a terminal, from
 * SupervisorProgress.WatchSnapshotProgress: one line, redrawn in place while the call runs and
 * cleared when it answers, so the answer's JSON is all that stays.
 */

/** How long an operation runs before its bar is drawn: one that ends sooner shows only its answer. */
export const DRAW_DELAY_MS = 300;

/** How long the watch may take to send its first message before the call goes ahead without it. */
const FIRST_MESSAGE_WAIT_MS = 2000;

const MIB = 1024 * 1024;

/** `save`, `transferring`: the enum's JSON name less its prefix, as the HTTP API spells it. */
function word(name: string): string {
  return name.replace(/^SNAPSHOT_(OPERATION|PHASE)_/, "").toLowerCase();
}

const mib = (bytes: number): string => (bytes / MIB).toFixed(1);

/**
 * The line for one progress message, cut to `columns` less one so it never wraps, or undefined
 * when nothing runs: `[#########-----------]  45% save transferring  12/30 files, 13.5/30.0 MiB`.
 * Phases that count nothing (preparing, most commits) show their name alone.
 */
export function renderProgress(message: WatchSnapshotProgressResponse, columns: number): string | undefined {
  if (message.operation === SnapshotOperation.SNAPSHOT_OPERATION_UNSPECIFIED || message.phase === SnapshotPhase.SNAPSHOT_PHASE_UNSPECIFIED) return undefined;
  const width = Math.max(columns - 1, 10);
  const what = `${word(snapshotOperationToJSON(message.operation))} ${word(snapshotPhaseToJSON(message.phase))}`;
  if (message.phase === SnapshotPhase.SNAPSHOT_PHASE_FAILED) return cut(`${what}: ${message.message}`, width);
  const { filesDone, filesTotal, bytesDone, bytesTotal } = message;
  if (filesTotal <= 0 && bytesTotal <= 0) return cut(what, width);
  // Bytes tell how far better than files when there are any: one big file is most of the work.
  const fraction = bytesTotal > 0 ? bytesDone / bytesTotal : filesDone / filesTotal;
  return cut(`${bar(fraction)} ${what}  ${filesDone}/${filesTotal} files, ${mib(bytesDone)}/${mib(bytesTotal)} MiB`, width);
}

/**
 * The one line on the terminal. Messages are kept as they come but drawn only once `show()` says
 * the operation has run long enough; `end()` clears what was drawn and stops drawing.
 */
export class SnapshotProgressDisplay {
  private latest: WatchSnapshotProgressResponse | undefined;
  private shown = false;
  private ended = false;
  /** The line on the screen now; "" when none is. */
  private drawn = "";

  constructor(private readonly terminal: ProgressTerminal) {}

  take(message: WatchSnapshotProgressResponse): void {
    if (this.ended) return;
    this.latest = message;
    if (this.shown) this.draw();
  }

  show(): void {
    if (this.ended) return;
    this.shown = true;
    this.draw();
  }

  end(): void {
    if (this.ended) return;
    if (this.drawn !== "") this.terminal.write("\r\x1b[2K");
    this.drawn = "";
    this.ended = true;
  }

  private draw(): void {
    const line = (this.latest && renderProgress(this.latest, this.terminal.columns())) ?? "";
    if (line === this.drawn) return;
    this.terminal.write(`\r\x1b[2K${line}`);
    this.drawn = line;
  }
}

/** What the watch needs of a gRPC server stream (ClientReadableStream is one). */
export interface ProgressStream {
  on(event: "data", listener: (message: WatchSnapshotProgressResponse) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  cancel(): void;
}

export interface ProgressWatch {
  /** The call has answered: no more drawing, the line cleared, the stream cancelled. */
  stop(): void;
}

/**
 * Opens the watch and resolves once it is in place: its first message says what runs now, so an
 * operation started after it is seen from its start. A watch that fails (UNIMPLEMENTED from a
 * daemon older than the service, NOT_FOUND) or says nothing in time resolves too, and draws
 * nothing: the call it goes with tells what is wrong.
 */
export async function followSnapshotProgress(stream: ProgressStream, terminal: ProgressTerminal, delayMs = DRAW_DELAY_MS): Promise<ProgressWatch> {
  const display = new SnapshotProgressDisplay(terminal);
  stream.on("data", (message) => display.take(message));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, FIRST_MESSAGE_WAIT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    stream.on("data", done);
    stream.on("error", done);
    stream.on("end", done);
  });
  const timer = setTimeout(() => display.show(), delayMs);
  timer.unref();
  return {
    stop: () => {
      clearTimeout(timer);
      display.end();
      stream.cancel();
    },
  };
}
