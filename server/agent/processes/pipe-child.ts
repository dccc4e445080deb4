import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { agentError } from "../reasons";
import { statusFromSignal, type Child, type ChildEvents, type ExitStatus } from "./child";
import type { Launch } from "./launch";

/**
 * After the process exits, how long its output may take to reach its end: what it left running
 * in the background may hold the pipes open for good, and must not hold back its end.
 */
const OUTPUT_GRACE_MS = 300;

/** More input than this waiting for the process to read it is refused, not buffered. */
export const MAX_PENDING_INPUT_BYTES = 1024 * 1024;

/** Starts `launch` on pipes, in a process group of its own; resolves once it runs. */
export function startPipeChild(launch: Launch, events: ChildEvents): Promise<Child> {
  const child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) => reject(spawnError(err, launch.file)));
    child.once("spawn", () => {
      child.removeAllListeners("error");
      // An error now (a failed kill, a stream error) must not crash the agent; the exit still comes.
      child.on("error", () => undefined);
      for (const stream of [child.stdin, child.stdout, child.stderr]) stream.on("error", () => undefined);
      resolve(new PipeChild(child, events));
    });
  });
}

class PipeChild implements Child {
  readonly pty = false;
  readonly pid: number;
  private exited: ExitStatus | undefined;
  private grace: NodeJS.Timeout | undefined;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly events: ChildEvents,
  ) {
    this.pid = child.pid ?? 0;
    child.stdout.on("data", (chunk: Buffer) => events.output("stdout", chunk));
    child.stderr.on("data", (chunk: Buffer) => events.output("stderr", chunk));
    child.once("exit", (code, signal) => this.onExit(code, signal));
    // "close" comes once the process has exited and both output pipes reached their end.
    child.once("close", () => this.finish());
  }

  write(data: Buffer): void {
    const stdin = this.child.stdin;
    if (stdin.writableEnded) throw agentError("stdin_closed", `the stdin of process ${this.pid} was closed`);
    if (stdin.writableLength + data.length > MAX_PENDING_INPUT_BYTES) {
      throw agentError("input_backlog", `process ${this.pid} has not read ${stdin.writableLength} bytes of its input; it takes at most ${MAX_PENDING_INPUT_BYTES} waiting`);
    }
    stdin.write(data);
  }

  closeStdin(): void {
    this.child.stdin.end();
  }

  resize(): void {
    throw agentError("not_a_pty", `process ${this.pid} runs on pipes, not a PTY: it has no size to change`);
  }

  dispose(): void {
    clearTimeout(this.grace);
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = signal ? statusFromSignal(signal) : { exitCode: code ?? 0 };
    this.grace = setTimeout(() => {
      // Whatever still holds the pipes is cut off (it gets EPIPE on its next write).
      this.child.stdout.destroy();
      this.child.stderr.destroy();
      this.finish();
    }, OUTPUT_GRACE_MS);
  }

  private finish(): void {
    const exited = this.exited;
    if (!exited) return;
    this.exited = undefined;
    this.dispose();
    this.events.exit(exited);
  }
}

function spawnError(err: NodeJS.ErrnoException, file: string): Error {
  if (err.code === "ENOENT") return agentError("command_not_found", `${file} could not be run: ${err.message}`);
  if (err.code === "EACCES") return agentError("not_executable", `${file} could not be run: ${err.message}`);
  return err;
}
