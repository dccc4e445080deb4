import { readdir, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { agentError } from "../reasons";
import { DirectoryHandles } from "./directory-handles";
import { identity, observe, scan, type Known } from "./entry-state";
import { classify, createdChanges, type Change, type Observation } from "./event-classifier";
import type { WatchEvent, WatchSink } from "./types";

/**
 * The most entries one watch keeps track of (the whole tree, when recursive): each costs memory,
 * and each subdirectory one of the guest's inotify watches. A tree past it fails the watch with
 * too_many_entries, at the start or when it grows past it.
 */
export const MAX_WATCHED_ENTRIES = 50_000;

/**
 * A directory (and, when recursive, every directory under it) watched, what Node reports turned
 * into fsnotify's events by comparing each named path's lstat with what the watch knew of it.
 *
 * Names Node reports are gathered until the end of the event loop's turn (inotify's events of one
 * read arrive in one turn, so a rename's two halves land in one batch), then classified in order;
 * one batch is classified at a time, so each sees what the one before learned.
 */
export class TreeWatch {
  private readonly known = new Map<string, Known>();
  private readonly handles: DirectoryHandles;
  private pending = new Set<string>();
  /** Directories whose event named no entry: all their entries are looked at again. */
  private unnamed = new Set<string>();
  private busy = true;
  private scheduled = false;
  private closed = false;
  private rootIdentity = "";

  private constructor(
    readonly root: string,
    private readonly recursive: boolean,
    private readonly sink: WatchSink,
    private readonly maxEntries: number,
  ) {
    this.handles = new DirectoryHandles(
      (path, named) => this.touched(path, named),
      (err) => this.fail(err),
    );
  }

  /** Watches `root`, a directory the caller has checked, and learns what it holds; nothing is reported for that. */
  static async start(root: string, recursive: boolean, sink: WatchSink, maxEntries = MAX_WATCHED_ENTRIES): Promise<TreeWatch> {
    const watch = new TreeWatch(root, recursive, sink, maxEntries);
    try {
      await watch.begin();
    } catch (err) {
      watch.close();
      throw err;
    }
    return watch;
  }

  close(): void {
    this.closed = true;
    this.handles.close();
    this.known.clear();
    this.pending.clear();
  }

  private async begin(): Promise<void> {
    // The watch comes before the scan: whatever changes during the scan is in a batch after it.
    const gone = (): Error => agentError("path_not_found", `${this.root} cannot be watched: it is gone or unreadable`);
    if (!this.handles.add(this.root)) throw gone();
    this.rootIdentity = await this.currentRootIdentity();
    // Gone between the caller's check and now: with no identity to compare, its removal could never be seen.
    if (this.rootIdentity === "") throw gone();
    await this.adopt(this.root, undefined, []);
    this.busy = false;
    this.schedule();
  }

  private touched(path: string, named: boolean): void {
    if (this.closed) return;
    if (named) this.pending.add(path);
    else this.unnamed.add(path);
    this.schedule();
  }

  private schedule(): void {
    if (this.busy || this.scheduled || this.closed || (this.pending.size === 0 && this.unnamed.size === 0)) return;
    this.scheduled = true;
    setImmediate(() => void this.drain());
  }

  /** Classifies batches until none is waiting; what arrives meanwhile is the next batch. */
  private async drain(): Promise<void> {
    this.scheduled = false;
    this.busy = true;
    try {
      while (this.open() && (this.pending.size > 0 || this.unnamed.size > 0)) {
        const { pending, unnamed } = this;
        this.pending = new Set();
        this.unnamed = new Set();
        const events = await this.process([...pending, ...(await this.entriesOf(unnamed))]);
        // Closed while classifying: whoever closed it wants no more events.
        if (events.length > 0 && this.open() && !this.sink.events(events)) this.close();
        await this.checkRoot();
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.busy = false;
    }
  }

  private async process(paths: readonly string[]): Promise<WatchEvent[]> {
    // A path whose directory is no longer watched (removed or moved in an earlier batch) says nothing new.
    const watched = [...new Set(paths)].filter((path) => this.handles.has(dirname(path)));
    const observations = await Promise.all(watched.map((path) => this.observation(path)));
    const events: WatchEvent[] = [];
    for (const change of classify(observations)) {
      if (this.closed) break;
      events.push(...(await this.apply(change)));
    }
    return events;
  }

  private async observation(path: string): Promise<Observation> {
    const before = this.known.get(path);
    // An entry that cannot be looked at (EACCES) is taken as unchanged.
    const after = await observe(path).catch(() => before);
    return { path, before, after };
  }

  /** Learns what a change says, and reports it with what a new directory brings along. */
  private async apply(change: Change): Promise<WatchEvent[]> {
    const events = [this.event(change)];
    if (change.type === "remove" || change.type === "rename") this.forget(change.path);
    if (!change.entry) return events;
    if (change.type === "create") this.forget(change.path);
    this.remember(change.path, change.entry);
    if (change.type === "create" && change.entry.type === "directory" && this.recursive && this.handles.add(change.path)) {
      // A directory moved within the tree brings nothing new; a new one may already hold entries made before its watch.
      await this.adopt(change.path, change.movedFrom === undefined ? change.entry.ctimeNs : undefined, events);
    }
    return events;
  }

  /**
   * Learns a directory's entries, and its subdirectories' when recursive. With `announceSince` (the
   * new directory's ctime) each is reported as created, and a file as written too only if written
   * since: a tree moved in from elsewhere holds files written long before it arrived.
   */
  private async adopt(dir: string, announceSince: bigint | undefined, events: WatchEvent[]): Promise<void> {
    for (const [name, entry] of await scan(dir, Math.max(0, this.maxEntries - this.known.size), () => this.tooMany())) {
      const path = join(dir, name);
      this.remember(path, entry);
      if (announceSince !== undefined) {
        const changes = createdChanges(path, entry).filter((change) => change.type !== "write" || entry.mtimeNs >= announceSince);
        events.push(...changes.map((change) => this.event(change)));
      }
      if (entry.type === "directory" && this.recursive && this.handles.add(path)) await this.adopt(path, announceSince, events);
    }
  }

  private remember(path: string, entry: Known): void {
    this.known.set(path, entry);
    if (this.known.size > this.maxEntries) throw this.tooMany();
  }

  /** Forgets a path and, if it was a directory, all under it, and stops watching there. */
  private forget(path: string): void {
    const entry = this.known.get(path);
    this.known.delete(path);
    if (entry?.type !== "directory") return;
    this.handles.closeUnder(path);
    const prefix = `${path}/`;
    for (const known of this.known.keys()) if (known.startsWith(prefix)) this.known.delete(known);
  }

  /** The paths of directories' entries, known or on disk, for events that named none. */
  private async entriesOf(dirs: ReadonlySet<string>): Promise<string[]> {
    const paths: string[] = [];
    for (const path of this.known.keys()) if (dirs.has(dirname(path))) paths.push(path);
    for (const dir of dirs) paths.push(...(await readdir(dir).catch(() => [])).map((name) => join(dir, name)));
    return paths;
  }

  /** The watched directory itself removed or replaced ends the watch: its paths no longer mean what they did. */
  private async checkRoot(): Promise<void> {
    if (this.closed || (await this.currentRootIdentity()) === this.rootIdentity) return;
    this.fail(agentError("path_not_found", `the watched directory ${this.root} was removed or replaced; watch it again`));
  }

  private async currentRootIdentity(): Promise<string> {
    const info = await stat(this.root, { bigint: true }).catch(() => undefined);
    return info ? identity(info) : "";
  }

  private tooMany(): Error {
    return agentError("too_many_entries", `${this.root} holds more than ${this.maxEntries} entries${this.recursive ? " in its tree" : ""}; a watch follows at most that many: watch a subdirectory`);
  }

  private event(change: Change): WatchEvent {
    return { type: change.type, name: relative(this.root, change.path), path: change.path };
  }

  /** A method, not the field: the watch may close while a batch awaits, which narrowing on the field would not see. */
  private open(): boolean {
    return !this.closed;
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.close();
    this.sink.fail(err);
  }
}
