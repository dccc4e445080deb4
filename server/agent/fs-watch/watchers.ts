import { randomUUID } from "node:crypto";
import { agentError } from "../reasons";
import { MAX_QUEUED_EVENTS } from "./queue";
import type { WatchEvent, WatchOptions } from "./types";
import { openWatch, type OpenWatch } from "./watcher";

/** The most polled watchers the agent holds at once: each holds inotify watches and a queue. */
export const MAX_WATCHERS = 100;

/**
 * Watches a client polls by id (envd's CreateWatcher, GetWatcherEvents, RemoveWatcher), for
 * clients that cannot hold a stream open. Each queues what happens until taken, up to its bound;
 * past it the watcher stops and its next take fails with reader_too_slow (see WatchQueue). A
 * watcher that stopped with an error keeps answering with it until removed.
 */
export class Watchers {
  private readonly watchers = new Map<string, OpenWatch>();
  /** Creates under way, counted against the bound so that concurrent ones cannot pass it. */
  private opening = 0;
  private closed = false;

  constructor(
    private readonly maxWatchers = MAX_WATCHERS,
    private readonly maxQueued = MAX_QUEUED_EVENTS,
  ) {}

  /** Starts watching; the id to take its events with. Errors as watchDirectory's. */
  async create(path: string, options: WatchOptions, home: string): Promise<string> {
    if (this.closed) throw agentError("cancelled", "the agent is shutting down and takes no new watchers");
    if (this.watchers.size + this.opening >= this.maxWatchers) throw agentError("watch_limit", `the agent holds ${this.maxWatchers} watchers already; remove one first`);
    this.opening++;
    let opened: OpenWatch;
    try {
      opened = await openWatch(path, options, home, this.maxQueued);
    } finally {
      this.opening--;
    }
    // Closed while the watch was being set up.
    if (this.isClosed()) {
      opened.watch.close();
      throw agentError("cancelled", "the agent is shutting down and takes no new watchers");
    }
    const id = randomUUID();
    this.watchers.set(id, opened);
    return id;
  }

  /** The events since the last take, in order; the watcher's error once they are all taken. */
  take(id: string): WatchEvent[] {
    return this.get(id).queue.take();
  }

  remove(id: string): void {
    this.get(id).watch.close();
    this.watchers.delete(id);
  }

  close(): void {
    this.closed = true;
    for (const { watch } of this.watchers.values()) watch.close();
    this.watchers.clear();
  }

  /** A method, not the field: `close` may run while `create` awaits, which narrowing on the field would not see. */
  private isClosed(): boolean {
    return this.closed;
  }

  private get(id: string): OpenWatch {
    const watcher = this.watchers.get(id);
    if (!watcher) throw agentError("watcher_not_found", `no watcher ${JSON.stringify(id.slice(0, 100))}: it was removed, or never created`);
    return watcher;
  }
}
