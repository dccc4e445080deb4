import { watch, type FSWatcher } from "node:fs";
import type { Clock } from "../clock";
import type { Tree } from "./tree";

/**
 * Says when anything under a directory changes: inotify through fs.watch (recursive), or where
 * that cannot be had (no inotify, its watch limit reached) a scan every `pollMs` comparing each
 * entry's size, time and inode. It may say so for a change that undoes itself; the caller's save
 * then finds nothing new.
 */
export class ChangeWatch {
  private watcher: FSWatcher | undefined;
  private cancelPoll: (() => void) | undefined;
  private fingerprint: string | undefined;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly changed: () => void,
    private readonly clock: Clock,
    private readonly pollMs: number,
    /** How the directory is walked for a scan: in a chunk thread, as saves walk it. */
    private readonly walk: (dir: string) => Promise<Tree>,
  ) {}

  /** Whether changes come from inotify (else from scans). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  start(): void {
    try {
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => this.changed());
      this.watcher.on("error", () => this.fallBack());
    } catch {
      this.fallBack();
    }
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  private stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
  }

  private fallBack(): void {
    this.stop();
    if (this.closed) return;
    void this.scan().then(() => this.schedule());
  }

  private schedule(): void {
    if (this.closed) return;
    this.cancelPoll = this.clock.after(this.pollMs, () => void this.scan().then(() => this.schedule()));
  }

  private async scan(): Promise<void> {
    let tree: Tree;
    try {
      tree = await this.walk(this.dir);
    } catch {
      // Not there (yet), or unreadable: the next scan looks again.
      return;
    }
    const fingerprint = tree.entries.map((e) => `${e.path}\0${e.size}\0${e.mtimeNs}\0${e.ino}\0${e.mode}`).join("\n");
    if (this.fingerprint !== undefined && fingerprint !== this.fingerprint) this.changed();
    this.fingerprint = fingerprint;
  }
}
