import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { PtyEvents, PtyHandle, PtyHost } from "../pty";
import type { FromHost, SpawnOptions, ToHost } from "./protocol";

export class SpawnError extends Error {}

/** How long the thread has to see its PTYs' processes exit (it sends SIGKILL after one second). */
const CLOSE_GRACE_MS = 3000;

/**
 * The main thread's side of the PTY host thread: spawns PTYs there and routes their output and
 * exits back. Started on first use; one thread serves every terminal.
 */
export class ThreadPtyHost implements PtyHost {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { events: PtyEvents; resolve: (pty: PtyHandle) => void; reject: (err: Error) => void }>();
  private readonly live = new Map<number, PtyEvents>();

  spawn(options: SpawnOptions, events: PtyEvents): Promise<PtyHandle> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { events, resolve, reject });
      this.send({ type: "spawn", id, options });
    });
  }

  /**
   * Asks the thread to hang up its PTYs and end once their processes have exited; one that will
   * not end in CLOSE_GRACE_MS is terminated.
   */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const ended = new Promise((resolve) => worker.once("exit", resolve));
    worker.postMessage({ type: "close" } satisfies ToHost);
    const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
    await ended;
    clearTimeout(timer);
  }

  private send(message: ToHost): void {
    this.thread().postMessage(message);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(join(__dirname, "worker.js"));
    worker.unref();
    worker.on("message", (message: FromHost) => this.receive(message));
    worker.on("error", (err) => this.lost(err));
    worker.on("exit", () => this.lost(new Error("the PTY host thread exited")));
    this.worker = worker;
    return worker;
  }

  private receive(message: FromHost): void {
    switch (message.type) {
      case "spawned": {
        const waiting = this.pending.get(message.id);
        if (!waiting) return;
        this.pending.delete(message.id);
        this.live.set(message.id, waiting.events);
        waiting.resolve(this.handle(message.id, message.pid));
        return;
      }
      case "failed": {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        waiting?.reject(new SpawnError(message.message));
        return;
      }
      case "data":
        this.live.get(message.id)?.data(new Uint8Array(message.data));
        return;
      case "exit": {
        const events = this.live.get(message.id);
        this.live.delete(message.id);
        events?.exit(message.exitCode, message.signal);
        return;
      }
    }
  }

  /** The thread died: every PTY it held is gone with it. */
  private lost(err: Error): void {
    if (!this.worker) return;
    this.worker = undefined;
    for (const waiting of this.pending.values()) waiting.reject(new SpawnError(err.message));
    this.pending.clear();
    for (const events of this.live.values()) events.exit(-1, 0);
    this.live.clear();
  }

  private handle(id: number, pid: number): PtyHandle {
    const send = (message: ToHost): void => {
      if (this.live.has(id)) this.send(message);
    };
    return {
      pid,
      write: (data) => send({ type: "write", id, data }),
      resize: (columns, rows) => send({ type: "resize", id, columns, rows }),
      kill: (signal) => send({ type: "kill", id, signal }),
      pause: () => send({ type: "pause", id }),
      resume: () => send({ type: "resume", id }),
    };
  }
}
