import { agentError } from "../reasons";
import type { WatchEvent, WatchSink } from "./types";

/** The most events a watch holds for a reader that has not taken them. */
export const MAX_QUEUED_EVENTS = 10_000;

/**
 * Events a watch reported and nobody has taken yet. Past the bound the queue fails with
 * reader_too_slow and lets go of what it held, and the watch stops: fsnotify reports inotify's
 * queue overflow as an error too (ErrEventOverflow), and a reader that has lost events must list
 * the directory again anyway, where dropping some quietly would let it think it had them all.
 * An error the watch stopped with comes after the events it sent before.
 */
export class WatchQueue implements WatchSink {
  private queued: WatchEvent[] = [];
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly max: number,
    /** What the watch is, for the overflow's message. */
    private readonly what: string,
  ) {}

  events(events: readonly WatchEvent[]): boolean {
    if (this.error) return false;
    if (this.queued.length + events.length > this.max) {
      this.queued = [];
      this.error = agentError("reader_too_slow", `more than ${this.max} events of ${this.what} waited to be read, and were dropped; the watch has stopped: watch again and list the directory to catch up`);
    } else {
      this.queued.push(...events);
    }
    this.wake?.();
    return this.error === undefined;
  }

  fail(err: Error): void {
    this.error ??= err;
    this.wake?.();
  }

  /** What arrived since the last take; the error once all before it was taken. */
  take(): WatchEvent[] {
    if (this.queued.length > 0) return this.queued.splice(0);
    if (this.error) throw this.error;
    return [];
  }

  /** Resolves once there is something to take (events or the error), or `signal` aborts. One waiter at a time. */
  ready(signal: AbortSignal): Promise<void> {
    if (this.queued.length > 0 || this.error || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
