import { chmod, lutimes, mkdir, rm, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { SnapshotDocument, SnapshotEntry } from "./document";
import { syncWritten } from "./durability";
import type { SnapshotRepository } from "./repository";
import { batchesOf, settleAll } from "./workers/batches";
import { withOutcomes, type FileToWrite } from "./workers/protocol";
import type { ChunkThreads } from "./workers/pool";

export interface RestoreProgress {
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/** A snapshot that cannot be written out as it was saved: a chunk missing or corrupt, a write failing. */
export class MaterializeFailed extends Error {}

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

/**
 * Writes a snapshot's tree into `target`, which must not exist: every file from its chunks (each
 * checked against its digest), symbolic links as links, modes and modification times as saved,
 * then makes it durable. On failure `target` is removed.
 */
export async function materialize(repository: SnapshotRepository, document: SnapshotDocument, target: string, threads: ChunkThreads, progress?: (p: RestoreProgress) => void): Promise<void> {
  await mkdir(target, { mode: 0o700 });
  try {
    const dirs = document.entries.filter((e) => e.type === "dir");
    for (const dir of dirs) await mkdir(join(target, dir.path), { mode: 0o700 });
    await writeFiles(repository, document.entries, target, threads, progress);
    for (const link of document.entries.filter((e) => e.type === "symlink")) {
      await symlink(link.target ?? "", join(target, link.path));
      await lutimes(join(target, link.path), secondsOf(link.mtimeNs), secondsOf(link.mtimeNs));
    }
    // Deepest first: setting a directory's time before its children are written would not hold.
    for (const dir of [...dirs].reverse()) {
      await chmod(join(target, dir.path), dir.mode);
      await utimes(join(target, dir.path), secondsOf(dir.mtimeNs), secondsOf(dir.mtimeNs));
    }
    await syncWritten(target, () => document.entries.filter((e) => e.type === "file").map((e) => join(target, e.path)));
  } catch (err) {
    await rm(target, { recursive: true, force: true });
    throw err instanceof MaterializeFailed ? err : new MaterializeFailed((err as Error).message);
  }
}

async function writeFiles(repository: SnapshotRepository, entries: readonly SnapshotEntry[], target: string, threads: ChunkThreads, progress?: (p: RestoreProgress) => void): Promise<void> {
  const files: FileToWrite[] = entries.filter((e) => e.type === "file").map((e) => ({ path: join(target, e.path), chunks: e.chunks ?? [], mode: e.mode, mtimeSeconds: secondsOf(e.mtimeNs) }));
  const sizes = new Map(entries.map((e) => [join(target, e.path), e.size]));
  const done = { filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal: entries.reduce((t, e) => t + (e.type === "file" ? e.size : 0), 0) };
  await settleAll(
    batchesOf(files, (f) => sizes.get(f.path) ?? 0).map(async (batch) => {
      const { outcomes } = await threads.run({ kind: "write", store: repository.chunks.root, files: batch });
      for (const [file, outcome] of withOutcomes(batch, outcomes)) {
        if ("failed" in outcome) throw new MaterializeFailed(`${file.path.slice(target.length + 1)}: ${outcome.failed.message}`);
        done.filesDone++;
        done.bytesDone += outcome.ok;
      }
      progress?.({ ...done });
    }),
  );
}
