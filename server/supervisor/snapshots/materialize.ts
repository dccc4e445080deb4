import { mkdir } from "node:fs/promises";
import type { SnapshotRepository } from "./repository";
import { settleAll } from "./workers/batches";
import type { ChunkThreads } from "./workers/pool";
import { onlyOutcome, withOutcomes, type HeldRestore } from "./workers/protocol";

export interface RestoreProgress {
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/** A snapshot that cannot be written out as it was saved: a chunk missing or corrupt, a write failing. */
export class MaterializeFailed extends Error {}

/**
 * Writes a snapshot's tree into `target`, which must not exist: every file from its chunks (each
 * checked against its digest), symbolic links as links, modes and modification times as saved,
 * then makes it durable. On failure `target` is removed. One chunk thread reads the document and
 * keeps it (restore-plan.ts); this thread hands out the batches of files.
 */
export async function materialize(repository: SnapshotRepository, snapshotId: string, target: string, threads: ChunkThreads, progress?: (p: RestoreProgress) => void): Promise<void> {
  await mkdir(target, { mode: 0o700 });
  try {
    const { result, thread } = await threads.runOn({ kind: "restore-open", repository: repository.root, snapshotId, target });
    const opened = onlyOutcome(result, `snapshot ${snapshotId} cannot be read`);
    await writeFiles(repository, opened, target, threads, progress);
    onlyOutcome(await threads.run({ kind: "restore-finish", restore: opened.restore }, thread), "the restored tree could not be finished");
  } catch (err) {
    await removeTree(threads, target).catch(() => undefined);
    throw err instanceof MaterializeFailed ? err : new MaterializeFailed((err as Error).message);
  }
}

/** Removes a tree in a chunk thread: rm of 20,000 files on this thread left its garbage in the daemon's heap. */
export async function removeTree(threads: ChunkThreads, path: string): Promise<void> {
  onlyOutcome(await threads.run({ kind: "remove", path }), `${path} could not be removed`);
}

async function writeFiles(repository: SnapshotRepository, opened: HeldRestore, target: string, threads: ChunkThreads, progress?: (p: RestoreProgress) => void): Promise<void> {
  const done = { filesDone: 0, filesTotal: opened.filesTotal, bytesDone: 0, bytesTotal: opened.bytesTotal };
  await settleAll(
    opened.batches.map(async (batch) => {
      const { outcomes } = await threads.run({ kind: "write", store: repository.chunks.root, files: batch.files });
      for (const [file, outcome] of withOutcomes(batch.files, outcomes)) {
        if ("failed" in outcome) throw new MaterializeFailed(`${file.path.slice(target.length + 1)}: ${outcome.failed.message}`);
        done.filesDone++;
        done.bytesDone += outcome.ok;
      }
      progress?.({ ...done });
    }),
  );
}
