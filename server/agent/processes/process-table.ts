import type { PtyHost } from "../../terminal/pty";
import { agentError } from "../reasons";
import type { Child, ChildEvents } from "./child";
import { prepareLaunch, type Launch } from "./launch";
import { ManagedProcess } from "./managed-process";
import { DEFAULT_QUEUE_BYTES, OutputBroadcast } from "./output-broadcast";
import { DEFAULT_HISTORY_BYTES } from "./output-history";
import { startPipeChild } from "./pipe-child";
import { startPtyChild } from "./pty-child";
import { PROCESS_SIGNALS, type ProcessEvent, type ProcessInfo, type ProcessSelector, type ProcessSignal, type StartOptions } from "./types";

export const DEFAULT_KEEP_EXITED = 32;
/** How long shutdown waits for killed processes to report their end. */
const CLOSE_WAIT_MS = 5000;

export interface ProcessTableDeps {
  /** The agent user's home: the default cwd, and what `~` means. */
  readonly home: string;
  /** The environment processes start from; a start request's env is laid over it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly ptyHost: PtyHost;
  /** Output kept per process for replay, all its streams together; 256 KiB unless given. */
  readonly historyBytes?: number | undefined;
  /** Exited processes still listed (and connectable, for their end and history); 32 unless given. */
  readonly keepExited?: number | undefined;
  /** How far one connected reader may fall behind before it is dropped; 1 MiB unless given. */
  readonly queueBytes?: number | undefined;
}

/**
 * The guest agent's background processes, as E2B's envd keeps them: started on pipes or a PTY,
 * found by pid or tag, living on whoever connects or goes, until they exit or are killed.
 * Start then connect with replay misses nothing the history still holds.
 */
export class ProcessTable {
  private readonly running = new Map<number, ManagedProcess>();
  private readonly exited: ManagedProcess[] = [];
  /** Tags of starts under way: a second start with the tag must fail even before the first has a pid. */
  private readonly startingTags = new Set<string>();
  private readonly historyBytes: number;
  private readonly keepExited: number;
  private readonly queueBytes: number;
  private closed = false;

  constructor(private readonly deps: ProcessTableDeps) {
    this.historyBytes = deps.historyBytes ?? DEFAULT_HISTORY_BYTES;
    this.keepExited = deps.keepExited ?? DEFAULT_KEEP_EXITED;
    this.queueBytes = deps.queueBytes ?? DEFAULT_QUEUE_BYTES;
    // A replay goes through the reader's queue: a history larger than the queue would fail every replay.
    if (this.queueBytes <= this.historyBytes) throw new RangeError(`queueBytes (${this.queueBytes}) must exceed historyBytes (${this.historyBytes})`);
  }

  async start(options: StartOptions): Promise<ProcessInfo> {
    if (this.shuttingDown()) throw agentError("exec_unavailable", "the agent is shutting down; it starts no more processes");
    const launch = prepareLaunch(options, this.deps);
    this.reserveTag(launch.tag);
    try {
      const proc = await this.spawn(options.command, launch);
      this.register(proc);
      // Shutdown came while it started: it goes with the rest.
      if (this.shuttingDown()) proc.kill();
      return proc.info();
    } finally {
      this.startingTags.delete(launch.tag);
    }
  }

  /** Running processes and the latest exited ones, oldest first. */
  list(): ProcessInfo[] {
    return [...this.exited, ...this.running.values()].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime()).map((proc) => proc.info());
  }

  /** Aborting `signal` ends this stream only, never the process. */
  connect(selector: ProcessSelector, options: { readonly replay: boolean }, signal: AbortSignal): AsyncIterable<ProcessEvent> {
    return this.find(selector).connect(options.replay, signal);
  }

  sendInput(selector: ProcessSelector, data: Buffer): void {
    this.find(selector).sendInput(data);
  }

  closeStdin(selector: ProcessSelector): void {
    this.find(selector).closeStdin();
  }

  signal(selector: ProcessSelector, signal: ProcessSignal): void {
    // Checked here as well as by the type: the gRPC binding passes what the client sent.
    if (!(PROCESS_SIGNALS as readonly string[]).includes(signal)) throw agentError("invalid_argument", `signal must be one of ${PROCESS_SIGNALS.join(", ")}, not ${JSON.stringify(signal)}`);
    this.find(selector).signal(signal);
  }

  resize(selector: ProcessSelector, cols: number, rows: number): void {
    this.find(selector).resize(cols, rows);
  }

  /** Daemon shutdown: kills every running process's group and waits (a bounded time) for their ends. */
  async close(): Promise<void> {
    this.closed = true;
    const procs = [...this.running.values()];
    for (const proc of procs) proc.kill();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
    await Promise.race([Promise.all(procs.map((proc) => proc.ended)), timeout]);
    clearTimeout(timer);
  }

  /** A call, not the field: TypeScript would take a second read of the field after an await as the first one. */
  private shuttingDown(): boolean {
    return this.closed;
  }

  private async spawn(command: string, launch: Launch): Promise<ManagedProcess> {
    const output = new OutputBroadcast(this.historyBytes, this.queueBytes);
    const child = await this.startChild(launch, output);
    return new ManagedProcess(command, launch, child, output);
  }

  private startChild(launch: Launch, events: ChildEvents): Promise<Child> {
    return launch.pty ? startPtyChild(this.deps.ptyHost, launch, launch.pty, events) : startPipeChild(launch, events);
  }

  private reserveTag(tag: string): void {
    if (tag === "") return;
    const running = [...this.running.values()].some((proc) => proc.running && proc.tag === tag);
    if (running || this.startingTags.has(tag)) throw agentError("invalid_argument", `a running process already has the tag ${JSON.stringify(tag)}`);
    this.startingTags.add(tag);
  }

  private register(proc: ManagedProcess): void {
    this.running.set(proc.pid, proc);
    void proc.ended.then(() => this.retire(proc));
  }

  private retire(proc: ManagedProcess): void {
    if (this.running.get(proc.pid) === proc) this.running.delete(proc.pid);
    this.exited.push(proc);
    if (this.exited.length > this.keepExited) this.exited.splice(0, this.exited.length - this.keepExited);
  }

  private find(selector: ProcessSelector): ManagedProcess {
    const found = "pid" in selector ? this.byPid(selector.pid) : this.byTag(selector.tag);
    if (found) return found;
    const what = "pid" in selector ? `pid ${selector.pid}` : `tag ${JSON.stringify(selector.tag)}`;
    throw agentError("process_not_found", `no process with ${what} among the running and the ${this.keepExited} latest exited`);
  }

  /** The running process, else the latest exited one: a pid or tag reused names the newest. */
  private byPid(pid: number): ManagedProcess | undefined {
    if (!Number.isInteger(pid) || pid <= 0) throw agentError("invalid_argument", `pid must be a positive whole number, not ${pid}`);
    return this.running.get(pid) ?? this.exited.findLast((proc) => proc.pid === pid);
  }

  private byTag(tag: string): ManagedProcess | undefined {
    if (tag === "") throw agentError("invalid_argument", "tag is empty; select a process without a tag by its pid");
    const listed = [...this.exited, ...this.running.values()];
    return listed.find((proc) => proc.running && proc.tag === tag) ?? listed.findLast((proc) => proc.tag === tag);
  }
}
