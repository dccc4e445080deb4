import type { SnapshotReasonName } from "./snapshots/document";

export type OperationName = "save" | "restore" | "duplicate" | "none";
export type PhaseName = "idle" | "preparing" | "transferring" | "committing" | "done" | "failed";

/** One step of a snapshot operation, as watchers see it. */
export interface ProgressEvent {
  readonly operation: OperationName;
  readonly phase: PhaseName;
  readonly snapshotId: string;
  readonly reason?: SnapshotReasonName;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly message: string;
}

type Listener = (event: ProgressEvent) => void;

const IDLE: ProgressEvent = { operation: "none", phase: "idle", snapshotId: "", filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, message: "" };

/** A watcher keeps at most this many events; beyond, transfer steps are merged into the latest. */
const QUEUE_LIMIT = 64;

/**
 * Progress of each project's snapshot operations, for whoever watches: nothing is kept for a
 * project no one watches, and a watcher that reads slowly gets the latest counts, not a backlog.
 */
export class ProgressHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** The last step of each operation under way, for a watcher that comes in the middle. */
  private readonly current = new Map<string, ProgressEvent>();

  publish(projectId: string, event: ProgressEvent): void {
    if (event.phase === "done" || event.phase === "failed") this.current.delete(projectId);
    else this.current.set(projectId, event);
    for (const listener of this.listeners.get(projectId) ?? []) listener(event);
  }

  /** A publisher for one operation of one project. */
  reporter(projectId: string, operation: OperationName): (phase: PhaseName, detail?: Partial<Omit<ProgressEvent, "operation" | "phase">>) => void {
    return (phase, detail = {}) => this.publish(projectId, { operation, phase, snapshotId: "", filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, message: "", ...detail });
  }

  /**
   * What runs now (the operation's last step, or "idle"), then events for the project as they
   * come, until `signal` aborts. The first event tells a client its watch is in place.
   */
  async *watch(projectId: string, signal: AbortSignal): AsyncGenerator<ProgressEvent> {
    const queue: ProgressEvent[] = [this.current.get(projectId) ?? { ...IDLE }];
    let wake: (() => void) | undefined;
    const listener: Listener = (event) => {
      const last = queue.at(-1);
      if (queue.length >= QUEUE_LIMIT && last?.phase === "transferring" && event.phase === "transferring") queue[queue.length - 1] = event;
      else queue.push(event);
      wake?.();
    };
    const set = this.listeners.get(projectId) ?? new Set<Listener>();
    this.listeners.set(projectId, set.add(listener));
    const aborted = (): void => wake?.();
    signal.addEventListener("abort", aborted);
    try {
      while (!signal.aborted) {
        const next = queue.shift();
        if (next) yield next;
        else await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", aborted);
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(projectId);
    }
  }
}
