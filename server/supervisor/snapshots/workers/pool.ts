import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { ChunkJob, JobResult } from "./protocol";

type ResultOf<J extends ChunkJob> = Extract<JobResult, { kind: J["kind"] }>;
type Waiting = { readonly job: ChunkJob; readonly on: Worker | undefined; readonly resolve: (result: JobResult, worker: Worker) => void; readonly reject: (err: Error) => void };

/** The thread a job ran on, for a later job that needs what it left there (a save's plan). */
export interface ChunkThread {
  readonly worker: Worker;
}

/**
 * Threads that chunk, hash, compress and write files, one per core: SHA-256 and zstd are the
 * work of a save, and two cores finish it in about half the time of one. Started on first use,
 * each thread takes the next batch as it finishes one.
 */
export class ChunkThreads {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Waiting>();
  private readonly queue: Waiting[] = [];
  private started = 0;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * `idleMs`: threads idle this long end, giving back their memory (tens of MB each), all but one,
   * which ends after `warmMs`: a thread that has run a save has its code compiled, and a new one
   * made the next save (an autosave, an incremental save) a third slower.
   */
  constructor(
    private readonly size = Math.max(1, Math.min(availableParallelism(), 8)),
    private readonly idleMs = 5_000,
    private readonly warmMs = 10_000,
  ) {}

  /** Runs the job on the next free thread, or on `on` (and fails if that thread has ended). */
  async run<J extends ChunkJob>(job: J, on?: ChunkThread): Promise<ResultOf<J>> {
    return (await this.runOn(job, on)).result;
  }

  /** Runs the job, and says which thread it ran on. */
  runOn<J extends ChunkJob>(job: J, on?: ChunkThread): Promise<{ result: ResultOf<J>; thread: ChunkThread }> {
    if (this.closed) return Promise.reject(new Error("the chunk threads are closed"));
    if (on && !this.idle.includes(on.worker) && !this.busy.has(on.worker)) return Promise.reject(new Error("the chunk thread that held this job's state has ended"));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, on: on?.worker, resolve: (result, worker) => resolve({ result: result as ResultOf<J>, thread: { worker } }), reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    clearTimeout(this.idleTimer);
    for (let i = 0; i < this.queue.length; ) {
      const next = this.queue[i] as Waiting;
      const worker = next.on ? (this.idle.includes(next.on) ? next.on : undefined) : (this.idle.at(-1) ?? (this.started < this.size ? this.spawn() : undefined));
      if (!worker) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      this.busy.set(worker, next);
      worker.ref();
      worker.postMessage(next.job);
    }
  }

  private spawn(): Worker {
    this.started++;
    // A small young generation: a thread's garbage is per-chunk buffers it drops at once, and the
    // default (tens of MB per thread) only held it longer.
    const worker = new Worker(join(__dirname, "worker.js"), { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    worker.on("message", (result: JobResult) => this.finished(worker, result));
    worker.on("error", (err) => this.lost(worker, err));
    worker.on("exit", (code) => this.lost(worker, new Error(`a chunk thread exited (code ${code})`)));
    return worker;
  }

  private finished(worker: Worker, result: JobResult): void {
    const waiting = this.busy.get(worker);
    this.busy.delete(worker);
    // An idle thread must not keep the daemon alive.
    worker.unref();
    this.idle.push(worker);
    waiting?.resolve(result, worker);
    this.dispatch();
    if (this.busy.size === 0 && this.queue.length === 0) this.idleTimer = setTimeout(() => this.retireIdle(1), this.idleMs).unref();
  }

  /** Ends the idle threads but `keep`, and the last of them after warmMs more. */
  private retireIdle(keep: number): void {
    for (const worker of this.idle.splice(0, Math.max(0, this.idle.length - keep))) {
      this.started--;
      // Its end is not a loss to report; an error while it ends must still have a listener.
      worker.removeAllListeners();
      worker.on("error", () => undefined);
      void worker.terminate();
    }
    if (this.idle.length > 0) this.idleTimer = setTimeout(() => this.retireIdle(0), this.warmMs).unref();
  }

  private lost(worker: Worker, err: Error): void {
    const waiting = this.busy.get(worker);
    const wasKnown = waiting !== undefined || this.idle.includes(worker);
    this.busy.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    if (wasKnown) this.started--;
    waiting?.reject(err);
    // Jobs that needed what this thread held cannot run anywhere else.
    for (const pinned of this.queue.filter((w) => w.on === worker)) {
      this.queue.splice(this.queue.indexOf(pinned), 1);
      pinned.reject(new Error(`the chunk thread that held this job's state ended: ${err.message}`));
    }
    if (!this.closed) this.dispatch();
  }
}
