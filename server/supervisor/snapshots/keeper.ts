import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { chunksOf, summaryOf, type SnapshotDocument, type SnapshotSummary } from "./document";
import { materialize, removeTree, type RestoreProgress } from "./materialize";
import { SnapshotRepository } from "./repository";
import { snapshotsToPrune } from "./retention";
import { saveSnapshot, type SaveSpec } from "./save";
import { recoverState, stagingOf, swapIn } from "./state-swap";
import { sweepRepository } from "./sweep";
import { walkInThread, type Tree } from "./tree";
import type { ChunkThreads } from "./workers/pool";

export type SaveRequest = Omit<SaveSpec, "repository" | "threads" | "now" | "current" | "base"> & { readonly stateRoot: string; readonly maxSnapshots: number };

/** Written while a save runs: found at the next save, it says a save died, and its chunks are swept. */
const SAVING = "saving";

/**
 * A project's snapshots as operations on its state path: save (with retention and the sweep),
 * list, restore into current/, and copy into another project's state. Callers hold the project's
 * lock; nothing here knows of services, which the supervisor stops, pauses and starts.
 */
export class SnapshotKeeper {
  /** Old trees of finished restores being removed, by state path: the next write there waits for it. */
  private readonly removals = new Map<string, Promise<void>>();

  constructor(
    private readonly threads: ChunkThreads,
    private readonly now: () => Date,
  ) {}

  repository(stateRoot: string): SnapshotRepository {
    return new SnapshotRepository(join(stateRoot, "snapshots"));
  }

  /** A tree walked by one of the keeper's chunk threads. */
  walk(dir: string): Promise<Tree> {
    return walkInThread(this.threads, dir);
  }

  /** Newest first. */
  async list(stateRoot: string): Promise<SnapshotSummary[]> {
    return (await this.repository(stateRoot).index()).reverse();
  }

  async find(stateRoot: string, snapshotId: string): Promise<SnapshotSummary | undefined> {
    if (!SnapshotRepository.isSnapshotId(snapshotId)) return undefined;
    return (await this.repository(stateRoot).index()).find((s) => s.snapshotId === snapshotId);
  }

  /** Saves current/; then, beyond `maxSnapshots`, prunes and sweeps. A failed save leaves nothing. */
  async save(request: SaveRequest): Promise<SnapshotSummary | undefined> {
    const repository = this.repository(request.stateRoot);
    await this.beforeWriting(request.stateRoot, repository);
    const marker = join(repository.root, SAVING);
    await mkdir(repository.root, { recursive: true, mode: 0o700 });
    await writeFile(marker, `${process.pid}\n`);
    try {
      const saved = await saveSnapshot({ ...request, repository, threads: this.threads, now: this.now, current: join(request.stateRoot, "current") });
      if (saved) await this.prune(repository, request.maxSnapshots);
      await rm(marker, { force: true });
      return saved;
    } catch (err) {
      // What the failed save wrote is swept now; if the sweep fails too, the marker stays for the next save.
      await sweepRepository(repository).then(() => rm(marker, { force: true }), () => undefined);
      throw err;
    }
  }

  /** Makes the snapshot current/: written beside it, verified chunk by chunk, then swapped in. */
  async restore(stateRoot: string, snapshotId: string, progress?: (p: RestoreProgress) => void): Promise<void> {
    const repository = this.repository(stateRoot);
    await this.beforeWriting(stateRoot, repository);
    const staging = stagingOf(stateRoot, randomUUID());
    await materialize(repository, snapshotId, staging, this.threads, progress);
    const retired = await swapIn(stateRoot, staging);
    await repository.writeIndex(await repository.index(), snapshotId);
    const removal = removeTree(this.threads, retired).catch(() => undefined);
    this.removals.set(stateRoot, removal);
    void removal.then(() => this.removals.get(stateRoot) === removal && this.removals.delete(stateRoot));
  }

  /**
   * Gives a new project at `targetRoot` the content of `document` of `source`: its chunks linked
   * into the new store (shared, not copied, where one filesystem holds both), the snapshot as the
   * new project's first, and current/ written from it.
   */
  async copyTo(source: SnapshotRepository, document: SnapshotDocument, targetRoot: string, labels: Readonly<Record<string, string>>, progress?: (p: RestoreProgress) => void): Promise<SnapshotSummary> {
    const target = this.repository(targetRoot);
    for (const id of chunksOf(document)) target.chunks.adopt(source.chunks, id);
    const { parentSnapshotId: _parent, ...rest } = document;
    const copy: SnapshotDocument = { ...rest, snapshotId: randomUUID(), timestamp: this.now().toISOString(), addedBytes: 0, labels: { ...document.labels, ...labels } };
    await target.writeDocument(copy);
    await target.writeIndex([summaryOf(copy)], copy.snapshotId);
    await materialize(target, copy.snapshotId, join(targetRoot, "current"), this.threads, progress);
    return summaryOf(copy);
  }

  /** Saves `sourceRoot`'s current state straight into a new project's store, sharing the chunks its head has. */
  async saveInto(sourceRoot: string, targetRoot: string, request: Omit<SaveRequest, "stateRoot" | "maxSnapshots">): Promise<SnapshotSummary> {
    const source = this.repository(sourceRoot);
    const target = this.repository(targetRoot);
    const head = await source.head();
    const base = head ? await source.readDocument(head.snapshotId) : undefined;
    for (const id of base ? chunksOf(base) : []) target.chunks.adopt(source.chunks, id);
    const saved = await saveSnapshot({ ...request, repository: target, threads: this.threads, now: this.now, current: join(sourceRoot, "current"), ...(head ? { base: { repository: source.root, snapshotId: head.snapshotId } } : {}) });
    await sweepRepository(target);
    if (!saved) throw new Error("the save committed nothing");
    await materialize(target, saved.snapshotId, join(targetRoot, "current"), this.threads);
    return saved;
  }

  /**
   * What a crash left: an interrupted restore undone or finished, a dead save's chunks swept and
   * its working files (database copies) removed. The caller holds the project's lock, so no save
   * of this project is using work/.
   */
  private async beforeWriting(stateRoot: string, repository: SnapshotRepository): Promise<void> {
    await this.removals.get(stateRoot);
    await recoverState(stateRoot);
    await rm(repository.work, { recursive: true, force: true });
    if (existsSync(join(repository.root, SAVING))) await sweepRepository(repository);
  }

  private async prune(repository: SnapshotRepository, max: number): Promise<void> {
    const { snapshots: index, head } = await repository.listing();
    const pruned = snapshotsToPrune(index, max);
    if (pruned.length === 0) return;
    const gone = new Set(pruned.map((s) => s.snapshotId));
    await repository.writeIndex(index.filter((s) => !gone.has(s.snapshotId)), head?.snapshotId);
    for (const s of pruned) await repository.removeDocument(s.snapshotId);
    await sweepRepository(repository);
  }
}
