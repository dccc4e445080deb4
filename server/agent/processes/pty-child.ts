import { processStat } from "../../proc";
import type { PtyHandle, PtyHost } from "../../terminal/pty";
import { agentError } from "../reasons";
import { signalName, statusFromSignal, type Child, type ChildEvents, type ExitStatus } from "./child";
import { checkPtySize, type Launch } from "./launch";

/** Starts `launch` on a new PTY of `host`; its output is one stream, "pty". */
export async function startPtyChild(host: PtyHost, launch: Launch, size: { cols: number; rows: number }, events: ChildEvents): Promise<Child> {
  let handle: PtyHandle;
  try {
    handle = await host.spawn(
      { file: launch.file, args: launch.args, cwd: launch.cwd, env: launch.env, columns: size.cols, rows: size.rows },
      {
        data: (chunk) => events.output("pty", Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
        exit: (exitCode, signal) => events.exit(ptyStatus(exitCode, signal)),
      },
    );
  } catch (err) {
    throw agentError("launch_failed", `${launch.file} could not be started on a PTY: ${(err as Error).message}`);
  }
  await sessionLed(handle.pid);
  return new PtyChild(handle);
}

/** Bounds the wait for setsid, which a forked child runs at once. */
const SESSION_WAIT_MS = 2000;

/**
 * Waits until the process leads a session (its group) of its own: node-pty hands back the pid
 * once forked, before the child has run setsid, and a signal to the group until then finds none.
 */
async function sessionLed(pid: number): Promise<void> {
  const deadline = Date.now() + SESSION_WAIT_MS;
  for (;;) {
    const stat = processStat(pid);
    if (!stat || stat.sid === pid || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** node-pty reports a signal's death as code 0 and the signal's number; the PTY host's loss as -1 and 0. */
function ptyStatus(exitCode: number, signal: number): ExitStatus {
  const name = signalName(signal);
  return name ? statusFromSignal(name) : { exitCode };
}

class PtyChild implements Child {
  readonly pty = true;

  constructor(private readonly handle: PtyHandle) {}

  get pid(): number {
    return this.handle.pid;
  }

  write(data: Buffer): void {
    // A copy of just these bytes: a pooled Buffer would carry its whole slab to the PTY thread.
    this.handle.write(new Uint8Array(data));
  }

  /**
   * A PTY has no stdin apart from the terminal itself: closing the terminal hangs up the whole
   * session, and sending ^D is end of file only to a program reading lines at a line start.
   * Neither is what "close stdin" promises, so the client is told to choose.
   */
  closeStdin(): void {
    throw agentError("is_a_pty", `process ${this.pid} runs on a PTY, whose input cannot be closed apart from the terminal: send "\\u0004" (^D) as input for end of file at a line start, or signal SIGHUP to hang up`);
  }

  resize(cols: number, rows: number): void {
    checkPtySize(cols, rows);
    this.handle.resize(cols, rows);
  }

  dispose(): void {
    // The PTY host closes the PTY when the process exits.
  }
}
