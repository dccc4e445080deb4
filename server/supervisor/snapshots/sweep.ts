import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { chunksOf } from "./document";
import type { SnapshotRepository } from "./repository";

export interface SweepResult {
  readonly chunksRemoved: number;
  readonly documentsRemoved: number;
}

/**
 * Mark and sweep: every chunk a listed snapshot references is marked, and the rest removed, with
 * the temp files of killed writers and documents no index lists (a save killed between its
 * document and its index). The caller holds the project's snapshot lock, so no save is writing
 * chunks that nothing references yet; the chunks are listed before the index is read, so a chunk
 * is never judged against an index older than itself.
 */
export async function sweepRepository(repository: SnapshotRepository): Promise<SweepResult> {
  const { ids, temps } = await repository.chunks.contents();
  const documents = await readdir(join(repository.root, "documents")).catch(() => [] as string[]);
  const index = await repository.index();
  const listed = new Set(index.map((s) => s.snapshotId));
  const marked = new Set<string>();
  for (const snapshot of index) for (const id of chunksOf(await repository.readDocument(snapshot.snapshotId))) marked.add(id);
  let chunksRemoved = 0;
  for (const id of ids) {
    if (marked.has(id)) continue;
    await repository.chunks.remove(id);
    chunksRemoved++;
  }
  for (const temp of temps) await rm(temp, { force: true });
  let documentsRemoved = 0;
  for (const name of documents) {
    const id = name.replace(/\.json\.zst$/, "");
    if (listed.has(id)) continue;
    await rm(join(repository.root, "documents", name), { force: true });
    documentsRemoved++;
  }
  return { chunksRemoved, documentsRemoved };
}
