import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { DomainError } from "../../errors";
import { eventStream } from "../../event-stream";
import type { ExecRequest, ExecResult, ExecSinks } from "../exec";
import type { FromExecHost, ToExecHost } from "./protocol";

/**
 * Each output stream waits for its chunk to be taken before the command writes more, so no more
 * than a chunk of each and the exit code are ever queued; more would be a producer that stopped
 * waiting.
 */
const EXEC_QUEUE = { max: 3, overflow: () => new Error("exec output was queued past one chunk per stream") } as const;

/** How long the host's answer to a ping says it is up. */
const ANSWER_STANDS_MS = 1000;

/** One step of a streamed exec: a chunk of output, or how it ended. */
export type ExecEvent = { readonly stdout: Buffer } | { readonly stderr: Buffer } | { readonly exitCode: number };

interface Pending {
  readonly sinks: ExecSinks;
  resolve(result: ExecResult): void;
  reject(err: Error): void;
}

/**
 * The agent's side of the exec host process: runs commands there, forwards their streamed output
 * and carries cancellation. The host is started on first use and again after it dies.
 */
export class ExecHost {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pings = new Map<number, Omit<Pending, "sinks"> & { resolve(): void }>();
  /** The host's last answer to a ping, and which host process gave it. */
  private answered: { readonly child: ChildProcess; readonly at: number } | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly home: string,
  ) {}

  run(request: ExecRequest, outputLimit: number, sinks: ExecSinks, signal: AbortSignal): Promise<ExecResult> {
    const id = this.nextId++;
    const child = this.host();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.send(child, { type: "cancel", id });
      signal.addEventListener("abort", onAbort);
      const settle = (): void => signal.removeEventListener("abort", onAbort);
      this.pending.set(id, {
        sinks,
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      });
      this.send(child, { type: "run", id, request, home: this.home, outputLimit, stream: sinks.stdout !== undefined || sinks.stderr !== undefined });
      if (signal.aborted) onAbort();
    });
  }

  /**
   * Runs a command and yields its output as it comes, then its exit code; the command is paced
   * by the reader, and stopped when `signal` aborts.
   */
  stream(request: ExecRequest, signal: AbortSignal): AsyncIterable<ExecEvent[]> {
    return eventStream<ExecEvent>(signal, (sink) => {
      const sinks: ExecSinks = { stdout: (chunk) => sink.push({ stdout: chunk }), stderr: (chunk) => sink.push({ stderr: chunk }) };
      this.run(request, 0, sinks, signal).then(
        (result) => {
          void sink.push({ exitCode: result.exitCode });
          sink.end();
        },
        (err: unknown) => sink.fail(err),
      );
      return () => undefined;
    }, EXEC_QUEUE);
  }

  /**
   * Resolves once the exec host answers, starting it if it is not running, so that Health says
   * ok only when an exec can be run; rejects when the host does not answer within `timeoutMs`.
   * An answer stands for a moment: health checks in a burst share one ping instead of each making
   * the round trip to the host, and a host that exits is known at once, not a moment later.
   */
  ready(timeoutMs = 5000): Promise<void> {
    const child = this.host();
    if (this.answered?.child === child && Date.now() - this.answered.at < ANSWER_STANDS_MS) return Promise.resolve();
    this.inFlight ??= this.ping(child, timeoutMs).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private ping(child: ChildProcess, timeoutMs: number): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.pings.get(id)?.reject(new Error(`the exec host did not answer within ${timeoutMs} ms`)), timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        this.pings.delete(id);
      };
      this.pings.set(id, {
        resolve: () => {
          settle();
          this.answered = { child, at: Date.now() };
          resolve();
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      });
      this.send(child, { type: "ping", id });
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    child?.disconnect();
  }

  private host(): ChildProcess {
    if (this.child?.connected) return this.child;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.env)) if (value !== undefined) env[key] = value;
    const child = fork(join(__dirname, "main.js"), [], { env, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (message: FromExecHost) => this.receive(child, message));
    child.on("exit", () => {
      if (this.child === child) this.child = undefined;
      for (const waiting of [...this.pending.values(), ...this.pings.values()]) waiting.reject(new Error("the exec host process exited"));
      this.pending.clear();
    });
    child.unref();
    this.child = child;
    return child;
  }

  private send(child: ChildProcess, message: ToExecHost): void {
    if (child.connected) child.send(message);
  }

  private receive(child: ChildProcess, message: FromExecHost): void {
    if (message.type === "pong") return this.pings.get(message.id)?.resolve();
    const pending = this.pending.get(message.id);
    if (!pending) return;
    switch (message.type) {
      case "chunk": {
        const chunk = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
        void Promise.resolve(pending.sinks[message.stream]?.(chunk)).then(() => this.send(child, { type: "ack", id: message.id }));
        return;
      }
      case "done":
        this.pending.delete(message.id);
        pending.resolve({ ...message.result, stdout: Buffer.from(message.result.stdout), stderr: Buffer.from(message.result.stderr) });
        return;
      case "failed": {
        this.pending.delete(message.id);
        const { error } = message;
        pending.reject("reason" in error ? new DomainError(error.code, error.reason, error.message) : new Error(error.message));
        return;
      }
    }
  }
}
