import { requireDirectory } from "../fs-entries";
import { guestPath } from "../paths";
import { MAX_QUEUED_EVENTS, WatchQueue } from "./queue";
import { TreeWatch } from "./tree-watch";
import type { WatchEvent, WatchOptions } from "./types";

/** A watch running, and the events it queued. */
export interface OpenWatch {
  readonly watch: TreeWatch;
  readonly queue: WatchQueue;
}

/** Checks the path (missing: path_not_found, a file: not_a_directory) and starts watching it. */
export async function openWatch(path: string, options: WatchOptions, home: string, maxQueued = MAX_QUEUED_EVENTS): Promise<OpenWatch> {
  const dir = guestPath(path, home);
  await requireDirectory(dir);
  const queue = new WatchQueue(maxQueued, `the watch of ${dir}`);
  return { watch: await TreeWatch.start(dir, options.recursive, queue), queue };
}

/**
 * A directory's events as they happen. The checks and the watch's setup happen before this
 * resolves, so errors come at once and nothing done after it is missed. The watch stops when
 * `signal` aborts (the stream then ends quietly), when iteration ends, or with an error: the
 * directory itself removed (path_not_found), its tree grown past the bound (too_many_entries),
 * the reader too far behind (reader_too_slow). Abort the signal even if you never iterate.
 */
export async function watchDirectory(path: string, options: WatchOptions, home: string, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
  const { watch, queue } = await openWatch(path, options, home);
  const stop = (): void => watch.close();
  signal.addEventListener("abort", stop, { once: true });
  if (signal.aborted) stop();
  return stream(queue, signal, () => {
    signal.removeEventListener("abort", stop);
    stop();
  });
}

async function* stream(queue: WatchQueue, signal: AbortSignal, stop: () => void): AsyncGenerator<WatchEvent, void, undefined> {
  try {
    for (;;) {
      await queue.ready(signal);
      if (signal.aborted) return;
      yield* queue.take();
    }
  } finally {
    stop();
  }
}
