import { chmodSync, lutimesSync, mkdirSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { SnapshotEntry } from "./document";
import { syncWritten } from "../../durability";
import { SnapshotRepository } from "./repository";
import { batchesOf } from "./workers/batches";

// A restore's metadata (the document, every path) lives in one chunk thread, as a save's does
// (save-plan.ts): it opens the restore, keeps what it must do last, and finishes it. The main
// thread only hands the batches of files out; parsing the document there left about 75 MB in
// the daemon's heap after each restore of 20,000 files.

/** A file to restore: where, from which chunks, with what mode and modification time. */
export interface FileToWrite {
  readonly path: string;
  readonly chunks: readonly string[];
  readonly mode: number;
  readonly mtimeSeconds: number;
}

export interface WriteBatch {
  readonly files: FileToWrite[];
  readonly bytes: number;
}

export interface OpenedRestore {
  readonly batches: WriteBatch[];
  readonly filesTotal: number;
  readonly bytesTotal: number;
  /** The document's entries, which the thread keeps for finishRestore. */
  readonly entries: readonly SnapshotEntry[];
}

/**
 * Seconds since the epoch for utimes, from nanoseconds: Node takes a double, which near today
 * holds about a quarter of a microsecond, so the time aimed at is the middle of the saved
 * microsecond and lands inside it whichever way the conversion rounds.
 */
export function secondsOf(mtimeNs: string): number {
  const ns = BigInt(mtimeNs);
  const microsecond = (ns % 1_000_000_000n) / 1000n;
  return Number(ns / 1_000_000_000n) + (Number(microsecond) * 1000 + 500) / 1e9;
}

/** Reads the snapshot's document and makes its directories under `target` (which exists, empty); the files come in batches. */
export async function openRestore(repository: string, snapshotId: string, target: string): Promise<OpenedRestore> {
  const { entries } = await new SnapshotRepository(repository).readDocument(snapshotId);
  for (const dir of entries) if (dir.type === "dir") mkdirSync(join(target, dir.path), { mode: 0o700 });
  const files = entries.filter((e) => e.type === "file");
  const batches = batchesOf(files, (f) => f.size).map((batch) => ({
    files: batch.map((e) => ({ path: join(target, e.path), chunks: e.chunks ?? [], mode: e.mode, mtimeSeconds: secondsOf(e.mtimeNs) })),
    bytes: batch.reduce((total, e) => total + e.size, 0),
  }));
  return { batches, filesTotal: files.length, bytesTotal: batches.reduce((total, b) => total + b.bytes, 0), entries };
}

/**
 * Once every file is written: the symbolic links, the directories' modes and times (deepest
 * first: writing into a directory after would change its time), then one sync of it all.
 */
export async function finishRestore(target: string, entries: readonly SnapshotEntry[]): Promise<void> {
  for (const link of entries.filter((e) => e.type === "symlink")) {
    symlinkSync(link.target ?? "", join(target, link.path));
    lutimesSync(join(target, link.path), secondsOf(link.mtimeNs), secondsOf(link.mtimeNs));
  }
  for (const dir of entries.filter((e) => e.type === "dir").reverse()) {
    chmodSync(join(target, dir.path), dir.mode);
    utimesSync(join(target, dir.path), secondsOf(dir.mtimeNs), secondsOf(dir.mtimeNs));
  }
  await syncWritten(target, () => entries.filter((e) => e.type === "file").map((e) => join(target, e.path)));
}
