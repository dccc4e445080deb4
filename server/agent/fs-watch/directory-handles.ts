import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { agentError, fsError } from "../reasons";

/**
 * One fs.watch (one inotify watch) per directory, as fsnotify sets them up for envd. Node 20's own
 * recursive fs.watch on Linux is not used: it reports a content write to a new file as nothing and
 * a chmod as a 'rename', and names a rename's new path before its old one.
 */
export class DirectoryHandles {
  private readonly handles = new Map<string, FSWatcher>();

  constructor(
    /** A path inside a watched directory that something happened to; the directory itself for an unnamed event. */
    private readonly touched: (path: string, named: boolean) => void,
    private readonly failed: (err: Error) => void,
  ) {}

  get size(): number {
    return this.handles.size;
  }

  has(dir: string): boolean {
    return this.handles.has(dir);
  }

  /**
   * Watches a directory; false when it cannot be (gone already, or unreadable), which its
   * parent's events will tell. The guest out of inotify watches is an error of its own.
   */
  add(dir: string): boolean {
    if (this.handles.has(dir)) return true;
    let handle: FSWatcher;
    try {
      handle = watch(dir, { persistent: false }, (_event, name) => this.touched(name === null ? dir : join(dir, name), name !== null));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EMFILE") throw agentError("watch_limit", `the guest has no inotify watch left for ${dir} (fs.inotify.max_user_watches): watch fewer or smaller directories`);
      return false;
    }
    handle.on("error", (err) => this.failed(fsError(err, dir)));
    this.handles.set(dir, handle);
    return true;
  }

  /** Stops watching `path` and every directory under it. */
  closeUnder(path: string): void {
    const prefix = `${path}/`;
    for (const [dir, handle] of this.handles) {
      if (dir !== path && !dir.startsWith(prefix)) continue;
      handle.close();
      this.handles.delete(dir);
    }
  }

  close(): void {
    for (const handle of this.handles.values()) handle.close();
    this.handles.clear();
  }
}
