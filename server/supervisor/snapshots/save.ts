import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { makeConsistent, type VolumeToSave, type Writers } from "./consistency";
import { stateDigest, summaryOf, type SnapshotDocument, type SnapshotEntry, type SnapshotReasonName, type SnapshotSummary } from "./document";
import { syncWritten } from "./durability";
import { batchesOf, settleAll } from "./workers/batches";
import type { SnapshotRepository } from "./repository";
import { sortedByPath, walkInThread, type TreeEntry } from "./tree";
import type { ChunkThreads } from "./workers/pool";
import { withOutcomes } from "./workers/protocol";

export interface SaveProgress {
  /** Files being read into chunks, then the commit (durable chunks, document, index). */
  readonly phase: "transferring" | "committing";
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface SaveSpec {
  readonly repository: SnapshotRepository;
  /** The project's current/ directory. */
  readonly current: string;
  readonly projectId: string;
  readonly appId: string;
  readonly appVersion: string;
  readonly reason: SnapshotReasonName;
  readonly labels: Readonly<Record<string, string>>;
  readonly volumes: readonly VolumeToSave[];
  readonly writers: Writers;
  readonly threads: ChunkThreads;
  readonly now: () => Date;
  readonly progress?: (progress: SaveProgress) => void;
  /** Commit nothing when the content is the head snapshot's (autosave). */
  readonly skipIfUnchanged?: boolean;
  /** Files unchanged since this document are not read again (a duplicate saves with its source's head). */
  readonly base?: SnapshotDocument;
}

/** A file of the state that could not be read: the save fails, naming it. */
export class UnreadableFile extends Error {}

/**
 * Saves current/ as a new snapshot and returns it; undefined when `skipIfUnchanged` found
 * nothing new. Chunks and the document made durable first, then the index that lists it: a crash
 * at any point leaves the index as it was, with at most unreferenced chunks and an unlisted
 * document for the sweep.
 */
export async function saveSnapshot(spec: SaveSpec): Promise<SnapshotSummary | undefined> {
  const { repository } = spec;
  const snapshotId = randomUUID();
  const { snapshots: index, head } = await repository.listing();
  // Read while the hooks run and a thread walks the state: neither needs it until files are compared.
  const parentLoad = spec.base ? Promise.resolve(spec.base) : head ? repository.readDocument(head.snapshotId).catch(() => undefined) : Promise.resolve(undefined);
  void parentLoad.catch(() => undefined);
  const work = join(repository.work, snapshotId);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const timestamp = spec.now().toISOString();
    const state = await makeConsistent(spec.current, work, spec.volumes, spec.writers, spec.threads);
    let stored: StoredEntries;
    let skipped: readonly string[];
    try {
      const tree = await walkInThread(spec.threads, spec.current, state.excluded);
      skipped = tree.skipped;
      const entries = state.additions.length > 0 ? sortedByPath([...tree.entries, ...state.additions]) : tree.entries;
      stored = await storeEntries(spec, entries, (await parentLoad)?.entries ?? [], state.substitutes);
    } finally {
      await state.release();
    }
    spec.progress?.({ phase: "committing", filesDone: stored.files, filesTotal: stored.files, bytesDone: sizeOfFiles(stored.entries), bytesTotal: sizeOfFiles(stored.entries) });
    const entries = stored.entries;
    const sizeBytes = sizeOfFiles(entries);
    const document: SnapshotDocument = {
      format: 1,
      snapshotId,
      projectId: spec.projectId,
      timestamp,
      ...(head ? { parentSnapshotId: head.snapshotId } : {}),
      reason: spec.reason,
      appId: spec.appId,
      appVersion: spec.appVersion,
      stateDigest: stateDigest(entries),
      sizeBytes,
      addedBytes: stored.addedBytes,
      labels: { ...spec.labels },
      entries,
      volumes: state.manifests,
      skipped,
    };
    if (spec.skipIfUnchanged && head?.stateDigest === document.stateDigest) return undefined;
    // Side by side: nothing reads the document before the index lists it, and that waits for both.
    await settleAll([
      stored.newChunks.length > 0 ? syncWritten(repository.chunks.root, () => stored.newChunks.map((id) => repository.chunks.pathOf(id))) : Promise.resolve(),
      repository.writeDocument(document),
    ]);
    await repository.writeIndex([...index, summaryOf(document)], snapshotId);
    return summaryOf(document);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function sizeOfFiles(entries: readonly SnapshotEntry[]): number {
  return entries.reduce((total, e) => total + (e.type === "file" ? e.size : 0), 0);
}

interface StoredEntries {
  readonly entries: SnapshotEntry[];
  readonly files: number;
  readonly newChunks: string[];
  readonly addedBytes: number;
}

interface FileToStore {
  readonly entry: TreeEntry;
  readonly source: string;
}

/** Each file's chunks: the parent's where the file is unchanged (size, mtime, inode), else read and stored. */
async function storeEntries(spec: SaveSpec, entries: readonly TreeEntry[], parentEntries: readonly SnapshotEntry[], substitutes: ReadonlyMap<string, string>): Promise<StoredEntries> {
  const previous = new Map(parentEntries.filter((e) => e.type === "file").map((e) => [e.path, e]));
  const chunked = new Map<string, SnapshotEntry>();
  const toStore: FileToStore[] = [];
  for (const entry of entries) {
    if (entry.type !== "file") continue;
    const substitute = substitutes.get(entry.path);
    const before = previous.get(entry.path);
    if (!substitute && before?.chunks && unchanged(before, entry)) chunked.set(entry.path, { ...entry, chunks: before.chunks });
    else toStore.push({ entry, source: substitute ?? join(spec.current, entry.path) });
  }
  const { newChunks, addedBytes } = await storeFiles(spec, toStore, chunked);
  const result = entries.flatMap((e) => (e.type !== "file" ? [e] : (chunked.get(e.path) ?? [])));
  return { entries: result, files: chunked.size, newChunks, addedBytes };
}

function unchanged(before: SnapshotEntry, now: TreeEntry): boolean {
  return before.size === now.size && before.mtimeNs === now.mtimeNs && before.ino === now.ino && before.dev === now.dev;
}

async function storeFiles(spec: SaveSpec, files: readonly FileToStore[], chunked: Map<string, SnapshotEntry>): Promise<{ newChunks: string[]; addedBytes: number }> {
  const newChunks = new Set<string>();
  let addedBytes = 0;
  const progress = { phase: "transferring" as const, filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal: files.reduce((t, f) => t + f.entry.size, 0) };
  await settleAll(
    batchesOf(files, (f) => f.entry.size).map(async (batch) => {
      const { outcomes } = await spec.threads.run({ kind: "store", store: spec.repository.chunks.root, paths: batch.map((f) => f.source) });
      for (const [{ entry }, outcome] of withOutcomes(batch, outcomes)) {
        if ("failed" in outcome) {
          // Removed since the walk: the snapshot is of the state without it.
          if (outcome.failed.code === "ENOENT") continue;
          throw new UnreadableFile(`${entry.path}: ${outcome.failed.message}`);
        }
        chunked.set(entry.path, { ...entry, size: outcome.ok.size, chunks: outcome.ok.chunks });
        for (const id of outcome.ok.newChunks) newChunks.add(id);
        addedBytes += outcome.ok.storedBytes;
        progress.filesDone++;
        progress.bytesDone += outcome.ok.size;
      }
      spec.progress?.({ ...progress });
    }),
  );
  return { newChunks: [...newChunks], addedBytes };
}
