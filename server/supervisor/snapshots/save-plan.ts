import { join } from "node:path";
import { stateDigest, type SnapshotDocument, type SnapshotEntry } from "./document";
import { SnapshotRepository } from "./repository";
import { sortedByPath, walkTreeSync, type TreeEntry } from "./tree";

// The per-file metadata of a save (the walk, the parent's entries, the new document) lives in one
// chunk thread, from the walk to the document on disk, which keeps the plan between the two
// jobs: the main thread only ever holds the files it hands out to be read. A thread's garbage
// goes when the thread retires; the main thread's stayed in the daemon's heap, and held its RSS
// over 300 MB after a few saves of 20,000 files.

/** A snapshot whose entries tell which files are unchanged (size, mtime and inode as then). */
export interface ParentRef {
  /** The repository's root (`<state>/snapshots`). */
  readonly repository: string;
  readonly snapshotId: string;
}

export interface PlanRequest {
  /** The state's current/ directory. */
  readonly root: string;
  readonly excluded: readonly string[];
  /** Entries a hook adds that are not under root (a dump, and its directory). */
  readonly additions: readonly TreeEntry[];
  /** State paths read from another file (a database's consistent copy, a dump). */
  readonly substitutes: readonly (readonly [string, string])[];
  readonly parent: ParentRef | undefined;
}

/** A file the save must read: its state path, where its bytes are, and its size at the walk. */
export interface FileToRead {
  readonly path: string;
  readonly source: string;
  readonly size: number;
}

export interface SavePlan {
  readonly toRead: FileToRead[];
  /** Sockets, FIFOs and devices: not saved. */
  readonly skipped: string[];
  /** Every entry, unchanged files with their parent's chunks: kept by the thread for the commit. */
  readonly entries: PlannedEntry[];
}

/** An entry of a plan: a file to read gets its size and chunks at the commit. */
export type PlannedEntry = { -readonly [K in keyof SnapshotEntry]: SnapshotEntry[K] };

/** Walks the state and compares it with the parent; synchronous work but for reading the parent's document. */
export async function planSave(request: PlanRequest): Promise<SavePlan> {
  const parentEntries = request.parent ? readParent(request.parent) : Promise.resolve([]);
  void parentEntries.catch(() => undefined);
  const tree = walkTreeSync(request.root, new Set(request.excluded));
  const walked = request.additions.length > 0 ? sortedByPath([...tree.entries, ...request.additions]) : tree.entries;
  const previous = new Map<string, SnapshotEntry>();
  for (const entry of await parentEntries) if (entry.type === "file") previous.set(entry.path, entry);
  const substitutes = new Map(request.substitutes);
  const toRead: FileToRead[] = [];
  const entries = walked.map((entry): PlannedEntry => {
    if (entry.type !== "file") return entry;
    const substitute = substitutes.get(entry.path);
    const before = previous.get(entry.path);
    if (!substitute && before?.chunks && unchanged(before, entry)) return { ...entry, chunks: before.chunks };
    toRead.push({ path: entry.path, source: substitute ?? join(request.root, entry.path), size: entry.size });
    return entry;
  });
  return { toRead, skipped: tree.skipped, entries };
}

/** An unreadable parent is no parent: every file is read again, which is slower, never wrong. */
async function readParent(parent: ParentRef): Promise<readonly SnapshotEntry[]> {
  return (await new SnapshotRepository(parent.repository).readDocument(parent.snapshotId).catch(() => undefined))?.entries ?? [];
}

function unchanged(before: SnapshotEntry, now: TreeEntry): boolean {
  return before.size === now.size && before.mtimeNs === now.mtimeNs && before.ino === now.ino && before.dev === now.dev;
}

/** A file as it was read: its size then, and its chunks. */
export interface FileRead {
  readonly path: string;
  readonly size: number;
  readonly chunks: readonly string[];
}

export interface CommitRequest {
  readonly repository: string;
  /** The files read; a file to read that is not here was removed since the walk, and is left out. */
  readonly read: readonly FileRead[];
  readonly document: Omit<SnapshotDocument, "entries" | "stateDigest" | "sizeBytes">;
  /** The head's digest, when nothing is to be written if the content is the same (autosave). */
  readonly unlessDigest: string | undefined;
}

export interface Committed {
  readonly stateDigest: string;
  readonly sizeBytes: number;
  /** False when the content was the head's and `unlessDigest` asked for nothing to be written. */
  readonly written: boolean;
}

/** The document of the plan and what was read, written (temp, fsync, rename) unless it says nothing new. */
export async function commitSave(planned: PlannedEntry[], request: CommitRequest): Promise<Committed> {
  const read = new Map(request.read.map((f) => [f.path, f]));
  // The plan's own entries, no one else's: completed in place rather than copied.
  const entries = planned.filter((entry) => {
    if (entry.type !== "file" || entry.chunks) return true;
    const file = read.get(entry.path);
    if (!file) return false;
    entry.size = file.size;
    entry.chunks = file.chunks;
    return true;
  });
  const digest = stateDigest(entries);
  const sizeBytes = entries.reduce((total, e) => total + (e.type === "file" ? e.size : 0), 0);
  if (request.unlessDigest === digest) return { stateDigest: digest, sizeBytes, written: false };
  await new SnapshotRepository(request.repository).writeDocument({ ...request.document, stateDigest: digest, sizeBytes, entries });
  return { stateDigest: digest, sizeBytes, written: true };
}
