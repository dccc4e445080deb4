import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { constants as os } from "node:os";
import { findOnPath } from "../executables";
import { guestPath } from "./paths";
import { agentError, fsError } from "./reasons";

export const DEFAULT_EXEC_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 24 * 3600;
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ExecRequest {
  readonly command: string;
  readonly args: readonly string[];
  readonly timeoutSeconds: number | undefined;
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string | undefined;
}

export interface ExecContext {
  readonly home: string;
  /** The environment commands start from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Bytes kept per output stream; the rest is read and dropped. */
  readonly outputLimit: number;
}

/** Where output goes as it comes; a returned promise holds the stream until it settles. */
export interface ExecSinks {
  stdout?(chunk: Buffer): Promise<void> | void;
  stderr?(chunk: Buffer): Promise<void> | void;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly truncated: boolean;
}

/**
 * Runs a command without a shell, in a process group of its own: a bare name is looked up on
 * PATH, output is kept up to a limit per stream (and read to the end regardless), and on timeout
 * or cancellation the whole group is killed. A signal's death is exit code 128 + signal.
 */
export async function execute(request: ExecRequest, context: ExecContext, sinks: ExecSinks, signal: AbortSignal): Promise<ExecResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, request.env);
  // Looking the executable and directory up synchronously costs microseconds; through the thread
  // pool, a tenth of a millisecond each, which is a tenth of the whole run of a small command.
  const file = resolveExecutable(request.command, env.PATH ?? DEFAULT_PATH, context.home);
  const cwd = guestPath(request.cwd ?? "~", context.home);
  let cwdStat;
  try {
    cwdStat = statSync(cwd);
  } catch (err) {
    throw fsError(err, cwd);
  }
  if (!cwdStat.isDirectory()) throw agentError("not_a_directory", `cwd ${cwd} is not a directory`);
  const timeout = request.timeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS;
  if (!(timeout > 0) || timeout > MAX_TIMEOUT_SECONDS) throw agentError("invalid_argument", `timeout must be more than 0 and at most ${MAX_TIMEOUT_SECONDS} seconds`);

  // The client may have gone while the executable was looked up: then nothing starts.
  if (signal.aborted) throw agentError("cancelled", `${request.command} was cancelled before it started`);
  const child = spawn(file, [...request.args], { cwd, env, detached: true, stdio: [request.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const collected = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const kept = { stdout: 0, stderr: 0 };
  let truncated = false;
  for (const name of ["stdout", "stderr"] as const) {
    const stream = child[name];
    if (!stream) continue;
    stream.on("data", (chunk: Buffer) => {
      const room = context.outputLimit - kept[name];
      if (room < chunk.length) truncated = true;
      if (room > 0) {
        const part = room < chunk.length ? chunk.subarray(0, room) : chunk;
        collected[name].push(part);
        kept[name] += part.length;
      }
      const pending = sinks[name]?.(chunk);
      if (pending) {
        stream.pause();
        void pending.then(() => stream.resume());
      }
    });
  }
  if (request.stdin !== undefined && child.stdin) {
    child.stdin.on("error", () => undefined);
    child.stdin.end(request.stdin);
  }

  const state = { timedOut: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    killGroup();
  }, timeout * 1000);
  const onAbort = (): void => killGroup();
  signal.addEventListener("abort", onAbort);
  try {
    const [code, died] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", (err) => reject(spawnError(err, file)));
      child.once("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    if (state.timedOut) throw agentError("exec_timeout", `${request.command} ran longer than ${timeout} s; its process group was killed`);
    return {
      exitCode: code ?? 128 + (died ? os.signals[died] : 0),
      stdout: Buffer.concat(collected.stdout),
      stderr: Buffer.concat(collected.stderr),
      truncated,
    };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

function resolveExecutable(command: string, path: string, home: string): string {
  if (command === "") throw agentError("invalid_argument", "command is empty");
  if (command.includes("/") || command.startsWith("~")) {
    const file = guestPath(command, home);
    checkExecutable(file, command);
    return file;
  }
  const found = findOnPath(command, path);
  if (found) return found;
  throw notFound(command, `no executable "${command}" on PATH (${path})`);
}

// Whitespace or a character a shell would act on: what a command line has and a program name rarely does.
const SHELL_SYNTAX = /[\s|&;<>()$`\\"'*?[\]{}!#]/;

/**
 * A missing executable; when `command` reads as a shell command line (`ls -la | head`), the error
 * says that no shell runs it and how to ask for one, since the plain "does not exist" misleads.
 */
function notFound(command: string, plain: string): Error {
  if (!SHELL_SYNTAX.test(command)) return agentError("command_not_found", plain);
  const viaShell = `{"command": "/bin/sh", "args": ["-c", ${JSON.stringify(command)}]}`;
  return agentError(
    "command_not_found",
    `${JSON.stringify(command)} is not a program: exec runs one program without a shell; pass arguments in "args", or run it through a shell: ${viaShell}`,
  );
}

function checkExecutable(file: string, command: string): void {
  let info;
  try {
    info = statSync(file);
  } catch {
    throw notFound(command, `${command}: ${file} does not exist`);
  }
  if (!info.isFile()) throw agentError("not_executable", `${command}: ${file} is not a file`);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw agentError("not_executable", `${command}: ${file} is not executable`);
  }
}

function spawnError(err: NodeJS.ErrnoException, file: string): Error {
  if (err.code === "ENOENT") return agentError("command_not_found", `${file} could not be run: ${err.message}`);
  if (err.code === "EACCES") return agentError("not_executable", `${file} could not be run: ${err.message}`);
  return err;
}
