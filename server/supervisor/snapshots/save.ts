import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { makeConsistent, type VolumeToSave, type Writers } from "./consistency";
import { summaryOf, type SnapshotReasonName, type SnapshotSummary } from "./document";
import { syncWritten } from "../../durability";
import type { SnapshotRepository } from "./repository";
import type { FileRead, FileToRead, ParentRef } from "./save-plan";
import { batchesOf, settleAll } from "./workers/batches";
import type { ChunkThread, ChunkThreads } from "./workers/pool";
import { onlyOutcome, withOutcomes, type HeldPlan } from "./workers/protocol";

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
  /** Files unchanged since this snapshot are not read again (a duplicate saves with its source's head). */
  readonly base?: ParentRef;
}

/** A file of the state that could not be read: the save fails, naming it. */
export class UnreadableFile extends Error {}

/**
 * Saves current/ as a new snapshot and returns it; undefined when `skipIfUnchanged` found
 * nothing new. Chunks and the document made durable first, then the index that lists it: a crash
 * at any point leaves the index as it was, with at most unreferenced chunks and an unlisted
 * document for the sweep. One chunk thread walks the state, keeps the plan and writes the
 * document (save-plan.ts); this thread hands out the files to read and commits.
 */
export async function saveSnapshot(spec: SaveSpec): Promise<SnapshotSummary | undefined> {
  const { repository } = spec;
  const snapshotId = randomUUID();
  const { snapshots: index, head } = await repository.listing();
  const work = join(repository.work, snapshotId);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const timestamp = spec.now().toISOString();
    const state = await makeConsistent(spec.current, work, spec.volumes, spec.writers, spec.threads);
    let plan: HeldPlan;
    let thread: ChunkThread;
    let read: FilesRead;
    try {
      const parent = spec.base ?? (head ? { repository: repository.root, snapshotId: head.snapshotId } : undefined);
      const planned = await spec.threads.runOn({ kind: "plan", root: spec.current, excluded: [...state.excluded], additions: state.additions, substitutes: [...state.substitutes], parent });
      plan = onlyOutcome(planned.result, "the state could not be walked");
      thread = planned.thread;
      read = await readFiles(spec, plan.toRead);
    } finally {
      await state.release();
    }
    spec.progress?.({ phase: "committing", filesDone: read.files.length, filesTotal: read.files.length, bytesDone: read.bytes, bytesTotal: read.bytes });
    const document = { format: 1 as const, snapshotId, projectId: spec.projectId, timestamp, ...(head ? { parentSnapshotId: head.snapshotId } : {}), reason: spec.reason, appId: spec.appId, appVersion: spec.appVersion, addedBytes: read.addedBytes, labels: { ...spec.labels }, volumes: state.manifests, skipped: plan.skipped };
    const commit = spec.threads.run({ kind: "commit", plan: plan.plan, repository: repository.root, read: read.files, document, unlessDigest: spec.skipIfUnchanged ? head?.stateDigest : undefined }, thread);
    // Side by side: nothing reads the document before the index lists it, and that waits for both.
    const sync = read.newChunks.length > 0 ? syncWritten(repository.chunks.root, () => read.newChunks.map((id) => repository.chunks.pathOf(id))) : Promise.resolve();
    await settleAll([sync, commit]);
    const committed = onlyOutcome(await commit, "the snapshot's document could not be written");
    if (!committed.written) return undefined;
    const summary = summaryOf({ ...document, stateDigest: committed.stateDigest, sizeBytes: committed.sizeBytes, entries: [] });
    await repository.writeIndex([...index, summary], snapshotId);
    return summary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface FilesRead {
  readonly files: FileRead[];
  readonly bytes: number;
  readonly newChunks: string[];
  readonly addedBytes: number;
}

/** Reads each file into chunks, in batches spread over the threads; a file gone since the walk is left out. */
async function readFiles(spec: SaveSpec, files: readonly FileToRead[]): Promise<FilesRead> {
  const read: FileRead[] = [];
  const newChunks = new Set<string>();
  let addedBytes = 0;
  const progress = { phase: "transferring" as const, filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal: files.reduce((t, f) => t + f.size, 0) };
  await settleAll(
    batchesOf(files, (f) => f.size).map(async (batch) => {
      const { outcomes } = await spec.threads.run({ kind: "store", store: spec.repository.chunks.root, paths: batch.map((f) => f.source) });
      for (const [file, outcome] of withOutcomes(batch, outcomes)) {
        if ("failed" in outcome) {
          // Removed since the walk: the snapshot is of the state without it.
          if (outcome.failed.code === "ENOENT") continue;
          throw new UnreadableFile(`${file.path}: ${outcome.failed.message}`);
        }
        read.push({ path: file.path, size: outcome.ok.size, chunks: outcome.ok.chunks });
        for (const id of outcome.ok.newChunks) newChunks.add(id);
        addedBytes += outcome.ok.storedBytes;
        progress.filesDone++;
        progress.bytesDone += outcome.ok.size;
      }
      spec.progress?.({ ...progress });
    }),
  );
  return { files: read, bytes: progress.bytesDone, newChunks: [...newChunks], addedBytes };
}
