import { agentError } from "../reasons";
import { signalGroup, type Child } from "./child";
import type { Launch } from "./launch";
import type { OutputBroadcast } from "./output-broadcast";
import type { ProcessEvent, ProcessInfo, ProcessSignal } from "./types";

/**
 * One background process: what it was started as, the running program, and its output. It lives
 * until it exits or is killed, whoever is connected; what controls it refuses once it has exited.
 */
export class ManagedProcess {
  readonly startedAt = new Date();

  constructor(
    private readonly command: string,
    readonly launch: Launch,
    private readonly child: Child,
    private readonly output: OutputBroadcast,
  ) {}

  get pid(): number {
    return this.child.pid;
  }

  get tag(): string {
    return this.launch.tag;
  }

  get running(): boolean {
    return this.output.exitStatus === undefined;
  }

  get ended(): Promise<void> {
    return this.output.ended;
  }

  info(): ProcessInfo {
    const status = this.output.exitStatus;
    const info: ProcessInfo = { pid: this.pid, tag: this.tag, command: this.command, args: this.launch.args, cwd: this.launch.cwd, pty: this.child.pty, running: !status, startedAt: this.startedAt };
    return status ? { ...info, exitCode: status.exitCode } : info;
  }

  connect(replay: boolean, signal: AbortSignal): AsyncIterable<ProcessEvent> {
    return this.output.connect(this.pid, replay, signal);
  }

  sendInput(data: Buffer): void {
    this.requireRunning("take input");
    this.child.write(data);
  }

  closeStdin(): void {
    this.requireRunning("have its stdin closed");
    this.child.closeStdin();
  }

  signal(signal: ProcessSignal): void {
    this.requireRunning(`be sent ${signal}`);
    // A group already gone is the process exiting now: its end is on the way.
    signalGroup(this.pid, signal);
  }

  resize(cols: number, rows: number): void {
    this.requireRunning("be resized");
    this.child.resize(cols, rows);
  }

  /** For shutdown: SIGKILL to the group of a process still running. */
  kill(): void {
    if (this.running) signalGroup(this.pid, "SIGKILL");
  }

  private requireRunning(what: string): void {
    const status = this.output.exitStatus;
    if (status) throw agentError("process_exited", `process ${this.pid} exited with code ${status.exitCode}; it cannot ${what}`);
  }
}
