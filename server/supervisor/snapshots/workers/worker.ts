import { rmSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { ChunkStore } from "../chunk-store";
import type { SnapshotEntry } from "../document";
import { storeFile, WINDOW, writeFileFrom } from "../file-chunks";
import { finishRestore, openRestore } from "../restore-plan";
import { commitSave, planSave, type Committed, type PlannedEntry } from "../save-plan";
import { copySqlite } from "../sqlite-copy";
import { walkTreeSync } from "../tree";
import type { ChunkJob, FileFailure, FileOutcome, HeldPlan, HeldRestore, JobResult } from "./protocol";

/** A chunk thread: hashing, compression and file I/O of one batch at a time, off the event loop. */
let buffer: Buffer | undefined;

function failure(err: unknown): { failed: FileFailure } {
  return { failed: { code: (err as NodeJS.ErrnoException).code ?? (err as Error).name, message: (err as Error).message } };
}

function attempt<T>(work: () => T): FileOutcome<T> {
  try {
    return { ok: work() };
  } catch (err) {
    return failure(err);
  }
}

async function attemptAsync<T>(work: () => Promise<T>): Promise<FileOutcome<T>> {
  return work().then((ok) => ({ ok }), failure);
}

const stores = new Map<string, ChunkStore>();

/**
 * What a job leaves in this thread for a later one (a save's plan for its commit, a restore's
 * entries for its finish), by number; what its save or restore gave up on goes with the thread.
 */
class Held<T> {
  private readonly items = new Map<number, T>();
  private made = 0;

  constructor(private readonly what: string) {}

  keep(item: T): number {
    this.items.set(++this.made, item);
    return this.made;
  }

  take(id: number): T {
    const item = this.items.get(id);
    if (item === undefined) throw new Error(`${this.what} ${id} is not held by this thread`);
    this.items.delete(id);
    return item;
  }
}

const plans = new Held<PlannedEntry[]>("plan");
const restores = new Held<{ readonly target: string; readonly entries: readonly SnapshotEntry[] }>("restore");

async function holdPlan(job: Extract<ChunkJob, { kind: "plan" }>): Promise<HeldPlan> {
  const { entries, ...rest } = await planSave(job);
  return { ...rest, plan: plans.keep(entries) };
}

function commitPlan(job: Extract<ChunkJob, { kind: "commit" }>): Promise<Committed> {
  return commitSave(plans.take(job.plan), job);
}

async function holdRestore(job: Extract<ChunkJob, { kind: "restore-open" }>): Promise<HeldRestore> {
  const { entries, ...rest } = await openRestore(job.repository, job.snapshotId, job.target);
  return { ...rest, restore: restores.keep({ target: job.target, entries }) };
}

async function finishHeld(job: Extract<ChunkJob, { kind: "restore-finish" }>): Promise<true> {
  const { target, entries } = restores.take(job.restore);
  await finishRestore(target, entries);
  return true;
}

/** One ChunkStore per store for the thread's life, so what it learnt (directories made) carries over. */
function storeAt(root: string): ChunkStore {
  const known = stores.get(root) ?? new ChunkStore(root);
  stores.set(root, known);
  return known;
}

async function run(job: ChunkJob): Promise<JobResult> {
  if (job.kind === "walk") return { kind: "walk", outcomes: [attempt(() => walkTreeSync(job.root, new Set(job.excluded)))] };
  if (job.kind === "plan") return { kind: "plan", outcomes: [await attemptAsync(() => holdPlan(job))] };
  if (job.kind === "commit") return { kind: "commit", outcomes: [await attemptAsync(() => commitPlan(job))] };
  if (job.kind === "restore-open") return { kind: "restore-open", outcomes: [await attemptAsync(() => holdRestore(job))] };
  if (job.kind === "restore-finish") return { kind: "restore-finish", outcomes: [await attemptAsync(() => finishHeld(job))] };
  if (job.kind === "remove") return { kind: "remove", outcomes: [attempt(() => (rmSync(job.path, { recursive: true, force: true }), true as const))] };
  if (job.kind === "sqlite") return { kind: "sqlite", outcomes: job.databases.map((d) => attempt(() => copySqlite(d.path, d.copy))) };
  const store = storeAt(job.store);
  if (job.kind === "store") return { kind: "store", outcomes: job.paths.map((path) => attempt(() => storeFile(store, path, (buffer ??= Buffer.allocUnsafe(WINDOW))))) };
  return { kind: "write", outcomes: job.files.map((f) => attempt(() => writeFileFrom(store, f.path, f.chunks, f.mode, f.mtimeSeconds))) };
}

parentPort?.on("message", (job: ChunkJob) => {
  void run(job).then((result) => parentPort?.postMessage(result));
});
