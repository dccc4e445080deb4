import { identity, type Known } from "./entry-state";
import type { WatchEventType } from "./types";

/**
 * A path Node's fs.watch named in one batch of events, with what the watch knew of it and what an
 * lstat finds now. Node's own word ('rename' or 'change') is not used: on Linux a directory's
 * every event is 'rename', and a chmod is 'change' like a write, so only the two states tell.
 */
export interface Observation {
  readonly path: string;
  readonly before: Known | undefined;
  readonly after: Known | undefined;
}

/** An event to report, and what the watch now knows of the path (none for remove and rename). */
export interface Change {
  readonly type: WatchEventType;
  readonly path: string;
  readonly entry?: Known;
  /** For a create: the path the entry was renamed from, so its contents are not new. */
  readonly movedFrom?: string;
}

/**
 * fsnotify's events for a batch, in the order the paths were first named. A known entry gone is a
 * remove, unless its inode shows up under another path in the same batch: then it is a rename of
 * the old path and a create of the new one (inotify's MOVED_FROM and MOVED_TO come in one read, so
 * in one batch). A path holding a new inode was replaced: a remove and a create, or just a create
 * when something was renamed over it, as fsnotify reports.
 */
export function classify(observations: readonly Observation[]): Change[] {
  const moves = pairMoves(observations);
  const batch: Batch = { moves, sources: new Set(moves.values()), renamed: new Set() };
  return observations.flatMap((seen) => changesOf(seen, batch));
}

/**
 * A new file whose content was just written (it has some, and its mtime is its ctime: a write sets
 * both, where a rename or a new hard link moves only the ctime) was written too, as fsnotify
 * reports it: a create, then a write. A file moved in from outside the tree, or linked, is a create.
 */
export function createdChanges(path: string, entry: Known, movedFrom?: string): Change[] {
  if (movedFrom !== undefined) return [{ type: "create", path, entry, movedFrom }];
  const create: Change = { type: "create", path, entry };
  const written = entry.type === "file" && entry.size > 0n && entry.mtimeNs === entry.ctimeNs;
  return written ? [create, { type: "write", path, entry }] : [create];
}

/** New path → old path, for each entry whose inode left one path and reached another. */
function pairMoves(observations: readonly Observation[]): Map<string, string> {
  const left = new Map<string, string>();
  for (const { path, before, after } of observations) {
    if (before && !sameEntry(before, after)) left.set(identity(before), path);
  }
  const moves = new Map<string, string>();
  for (const { path, before, after } of observations) {
    if (!after || sameEntry(before, after)) continue;
    const from = left.get(identity(after));
    if (from === undefined) continue;
    moves.set(path, from);
    left.delete(identity(after));
  }
  return moves;
}

interface Batch {
  /** New path → old path. */
  readonly moves: ReadonlyMap<string, string>;
  /** The old paths. */
  readonly sources: ReadonlySet<string>;
  /** Old paths whose rename has been reported. */
  readonly renamed: Set<string>;
}

function sameEntry(a: Known | undefined, b: Known | undefined): boolean {
  return a !== undefined && b !== undefined && identity(a) === identity(b);
}

function changesOf({ path, before, after }: Observation, batch: Batch): Change[] {
  if (before && after && sameEntry(before, after)) return modified(path, before, after);
  const changes: Change[] = [];
  if (before) changes.push(...left(path, batch, after !== undefined && batch.moves.has(path)));
  if (after) {
    const from = batch.moves.get(path);
    // The rename of the old path comes first, even when the new path was named first in the batch.
    if (from !== undefined) changes.push(...renameOnce(from, batch.renamed));
    changes.push(...createdChanges(path, after, from));
  }
  return changes;
}

/** An entry that left its path: renamed, removed, or (when something was moved over it) nothing to say. */
function left(path: string, batch: Batch, movedOver: boolean): Change[] {
  if (batch.sources.has(path)) return renameOnce(path, batch.renamed);
  return movedOver ? [] : [{ type: "remove", path }];
}

function renameOnce(path: string, renamed: Set<string>): Change[] {
  if (renamed.has(path)) return [];
  renamed.add(path);
  return [{ type: "rename", path }];
}

/**
 * The same entry, looked at again: content (size, mtime) changed is a write; mode or owner
 * changed, or only its ctime (a chmod to the same mode, a new hard link), a chmod, which is how
 * fsnotify reports inotify's ATTRIB. Nothing changed: an event this watch has already accounted
 * for, such as one for a change its scan saw. A directory's size and times change with its
 * entries, which have events of their own, so only its attributes count.
 */
function modified(path: string, before: Known, after: Known): Change[] {
  const directory = after.type === "directory";
  const written = !directory && (after.size !== before.size || after.mtimeNs !== before.mtimeNs);
  const attributes = after.mode !== before.mode || after.uid !== before.uid || after.gid !== before.gid;
  const changes: Change[] = [];
  if (written) changes.push({ type: "write", path, entry: after });
  if (attributes || (!written && !directory && after.ctimeNs !== before.ctimeNs)) changes.push({ type: "chmod", path, entry: after });
  return changes;
}
