import type { PullEvent } from "./images";
import { formatPullLine, type LayerBytes, type PullLine } from "./pull-lines";

/** Where a pull's lines go: the log of each service of `image`. */
export type PullLineSink = (image: string, line: string) => void;

/** What was last written of a layer: its status, and the tenth of its bytes if it had any. */
interface Told {
  readonly status: string;
  readonly tenth: number;
}

/**
 * A pull's progress as a bounded number of log lines (pull-lines.ts): a layer's line when its
 * status changes, and again within one status each time its bytes pass another tenth; the
 * start, the end (digest and size) and a failure once each. An engine sends byte progress many
 * times a second (Docker) or not at all for a fast pull (Podman reports it at most once a
 * second), so a log gets at most about a dozen lines per layer and status.
 */
export class PullNotes {
  private readonly told = new Map<string, Told>();

  constructor(private readonly sink: PullLineSink) {}

  started(image: string): void {
    this.write({ kind: "start", image });
  }

  event(image: string, event: PullEvent): void {
    const { id, status } = event;
    // An error is told by failed(); Docker's lines without a layer (`Digest:`, `Status:`) by pulled();
    // `Pulling from <repo>` names the tag, not a layer.
    if (event.error !== undefined || id === undefined || status === undefined || status.startsWith("Pulling from ")) return;
    const bytes = bytesOf(event);
    const tenth = bytes === undefined ? -1 : Math.floor(bytes.percent / 10);
    const key = `${image} ${id}`;
    const before = this.told.get(key);
    if (before?.status === status && tenth <= before.tenth) return;
    this.told.set(key, { status, tenth });
    this.write({ kind: "layer", image, layer: id, status, ...(bytes === undefined ? {} : { bytes }) });
  }

  pulled(image: string, detail: string | undefined): void {
    this.write({ kind: "pulled", image, ...(detail === undefined ? {} : { detail }) });
  }

  failed(image: string, reason: string): void {
    this.write({ kind: "failed", image, reason });
  }

  private write(line: PullLine): void {
    this.sink(line.image, formatPullLine(line));
  }
}

/** A transfer's percent and total, when the engine tells both (Podman leaves out a current of 0). */
function bytesOf(event: PullEvent): LayerBytes | undefined {
  const total = event.progressDetail?.total;
  if (total === undefined || !(total > 0)) return undefined;
  const current = Math.min(Math.max(event.progressDetail?.current ?? 0, 0), total);
  return { percent: Math.floor((current * 100) / total), total };
}
