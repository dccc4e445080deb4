import { rmSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { ChunkStore } from "../chunk-store";
import { storeFile, WINDOW, writeFileFrom } from "../file-chunks";
import type { SnapshotEntry } from "../document";
import { finishRestore, openRestore } from "../restore-plan";
import { commitSave, planSave, type PlannedEntry } from "../save-plan";
import { copySqlite } from "../sqlite-copy";
import { walkTreeSync } from "../tree";
import type { Committed } from "../save-plan";
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
/** Plans kept between a save's plan and its commit; one its save gave up on goes with the thread. */
const plans = new Map<number, PlannedEntry[]>();
let plansMade = 0;

async function holdPlan(job: Extract<ChunkJob, { kind: "plan" }>): Promise<HeldPlan> {
  const { entries, ...rest } = await planSave(job);
  plans.set(++plansMade, entries);
  return { ...rest, plan: plansMade };
}

async function commitPlan(job: Extract<ChunkJob, { kind: "commit" }>): Promise<Committed> {
  const entries = plans.get(job.plan);
  if (!entries) throw new Error(`plan ${job.plan} is not held by this thread`);
  plans.delete(job.plan);
  return commitSave(entries, job);
}

/** One ChunkStore per store for the thread's life, so what it learnt (directories made) carries over. */
function storeAt(root: string): ChunkStore {
  const known = stores.get(root) ?? new ChunkStore(root);
  stores.set(root, known);
  return known;
}

/** Restores opened and not yet finished, with their target and document entries. */
const restores = new Map<number, { readonly target: string; readonly entries: readonly SnapshotEntry[] }>();

async function holdRestore(job: Extract<ChunkJob, { kind: "restore-open" }>): Promise<HeldRestore> {
  const { entries, ...rest } = await openRestore(job.repository, job.snapshotId, job.target);
  restores.set(++plansMade, { target: job.target, entries });
  return { ...rest, restore: plansMade };
}

async function finishHeld(job: Extract<ChunkJob, { kind: "restore-finish" }>): Promise<true> {
  const held = restores.get(job.restore);
  if (!held) throw new Error(`restore ${job.restore} is not held by this thread`);
  restores.delete(job.restore);
  await finishRestore(held.target, held.entries);
  return true;
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
