import { parentPort } from "node:worker_threads";
import { ChunkStore } from "../chunk-store";
import { storeFile, writeFileFrom } from "../file-chunks";
import { copySqlite } from "../sqlite-copy";
import type { ChunkJob, FileFailure, FileOutcome, JobResult } from "./protocol";

/** A chunk thread: hashing, compression and file I/O of one batch at a time, off the event loop. */
const buffer = Buffer.allocUnsafe(8 * 1024 * 1024);

function attempt<T>(work: () => T): FileOutcome<T> {
  try {
    return { ok: work() };
  } catch (err) {
    const failure: FileFailure = { code: (err as NodeJS.ErrnoException).code ?? (err as Error).name, message: (err as Error).message };
    return { failed: failure };
  }
}

function run(job: ChunkJob): JobResult {
  if (job.kind === "sqlite") return { kind: "sqlite", outcomes: job.databases.map((d) => attempt(() => copySqlite(d.path, d.copy))) };
  const store = new ChunkStore(job.store);
  if (job.kind === "store") return { kind: "store", outcomes: job.paths.map((path) => attempt(() => storeFile(store, path, buffer))) };
  return { kind: "write", outcomes: job.files.map((f) => attempt(() => writeFileFrom(store, f.path, f.chunks, f.mode, f.mtimeSeconds))) };
}

parentPort?.on("message", (job: ChunkJob) => parentPort?.postMessage(run(job)));
