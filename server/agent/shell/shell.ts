import { stat } from "node:fs/promises";
import { ptySizeProblem } from "../../pty-size";
import type { PtyHandle, PtyHost } from "../../terminal/pty";
import { checkNoNul, guestPath } from "../paths";
import { agentError, fsError } from "../reasons";
import { loginShell } from "./login-shell";
import { OutputQueue } from "../output-queue";

export interface ShellOptions {
  readonly cols: number | undefined;
  readonly rows: number | undefined;
  readonly term: string | undefined;
  /** Run by the login shell (`-c`) instead of an interactive session. */
  readonly command: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
}

export interface ShellContext {
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type ShellEvent = { readonly output: Buffer } | { readonly exitCode: number };

/** One shell on its own PTY, for as long as one client holds it. */
export interface ShellSession {
  readonly pid: number;
  /** Output as it comes, then the exit code; the shell is paused while the reader is behind. */
  readonly events: AsyncIterable<ShellEvent>;
  write(data: Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** The client has gone: hang up, as closing a terminal window does, and kill what stays. */
  hangUp(): void;
}

const DEFAULT_SIZE = { cols: 80, rows: 24 } as const;
/** Output queued for a slow reader before the PTY stops being read. */
const HIGH_WATER_BYTES = 256 * 1024;
/** After SIGHUP, how long the shell has before it is killed. */
const HANG_UP_GRACE_MS = 3000;

/** Checks a PTY size; undefined sides take the default. */
export function ptySize(cols: number | undefined, rows: number | undefined): { cols: number; rows: number } {
  const size = { cols: cols ?? DEFAULT_SIZE.cols, rows: rows ?? DEFAULT_SIZE.rows };
  const problem = ptySizeProblem(size.cols, size.rows);
  if (problem) throw agentError("invalid_argument", problem);
  return size;
}

async function workingDirectory(cwd: string | undefined, home: string): Promise<string> {
  const dir = guestPath(cwd ?? "~", home);
  const info = await stat(dir).catch((err: unknown) => {
    throw fsError(err, dir);
  });
  if (!info.isDirectory()) throw agentError("not_a_directory", `${dir} is not a directory`);
  return dir;
}

function shellEnv(options: ShellOptions, context: ShellContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) if (value !== undefined) env[key] = value;
  for (const [key, value] of Object.entries(options.env)) checkNoNul(`${key}=${value}`, `the variable ${key}`);
  return { ...env, HOME: context.home, TERM: options.term || "xterm-256color", COLORTERM: "truecolor", ...options.env };
}

/** Starts the user's login shell (or a command through it) on a new PTY; rejects with a reason when it cannot. */
export async function openShell(host: PtyHost, options: ShellOptions, context: ShellContext): Promise<ShellSession> {
  const { cols, rows } = ptySize(options.cols, options.rows);
  if (options.command !== undefined) checkNoNul(options.command, "the command");
  const cwd = await workingDirectory(options.cwd, context.home);
  const file = loginShell(context.env);
  const args = options.command === undefined ? ["-l"] : ["-l", "-c", options.command];
  // Output can come before spawn's answer does; flow control reaches the PTY once it is known.
  const started: { pty?: PtyHandle } = {};
  const queue = new OutputQueue<ShellEvent>(HIGH_WATER_BYTES, { pause: () => started.pty?.pause(), resume: () => started.pty?.resume() });
  let exited = false;
  const pty = await host
    .spawn(
      { file, args, cwd, env: shellEnv(options, context), columns: cols, rows },
      {
        data: (chunk) => queue.push({ output: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) }),
        exit: (exitCode, signal) => {
          exited = true;
          queue.push({ exitCode: signal > 0 ? 128 + signal : exitCode });
          queue.end();
        },
      },
    )
    .catch((err: unknown) => {
      throw agentError("command_not_found", `cannot start the shell ${file}: ${(err as Error).message}`);
    });
  started.pty = pty;
  return session(pty, queue, () => exited);
}

function session(pty: PtyHandle, queue: OutputQueue<ShellEvent>, hasExited: () => boolean): ShellSession {
  return {
    pid: pty.pid,
    events: queue.drain(),
    write: (data) => pty.write(data),
    resize: (cols, rows) => {
      const size = ptySize(cols, rows);
      pty.resize(size.cols, size.rows);
    },
    hangUp: () => {
      if (hasExited()) return;
      pty.kill("SIGHUP");
      setTimeout(() => {
        if (!hasExited()) pty.kill("SIGKILL");
      }, HANG_UP_GRACE_MS).unref();
    },
  };
}
