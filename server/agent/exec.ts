import type { ChildProcess } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { constants as os } from "node:os";
import type { Cgroups } from "../cgroup";
import { findOnPath } from "../executables";
import { ExecJob } from "./exec-job";
import { checkLength, checkNoNul, guestPath } from "./paths";
import { agentError, fsError } from "./reasons";

export const DEFAULT_EXEC_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 24 * 3600;
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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
  /** Where each command gets a cgroup of its own; without it, /proc alone finds its processes. */
  readonly cgroups?: Cgroups | undefined;
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
  /** Whether each stream went over the limit, its kept bytes ending at the cut. */
  readonly truncated: { readonly stdout: boolean; readonly stderr: boolean };
}

// After the kill, how long the output may take to reach its end before it is cut off: a holder
// no scan finds (one in another PID namespace, one the descriptor was passed to) must not hold
// the answer.
const OUTPUT_GRACE_MS = 300;

interface Prepared {
  readonly file: string;
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly timeoutSeconds: number;
}

interface Ending {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the deadline or a cancellation ended it, not the command. */
  readonly stoppedBy: "deadline" | "cancel" | undefined;
}

/**
 * Runs a command without a shell, detached in a session of its own: a bare name is looked up on
 * PATH, output is kept up to a limit per stream (and read to the end regardless). The deadline
 * bounds the answer whatever holds the output open: then, or on cancellation, every process the
 * command started is killed (see ExecJob). A signal's death is exit code 128 + signal.
 */
export async function execute(request: ExecRequest, context: ExecContext, sinks: ExecSinks, signal: AbortSignal): Promise<ExecResult> {
  const prepared = prepare(request, context);
  // The client may have gone while the executable was looked up: then nothing starts.
  if (signal.aborted) throw agentError("cancelled", `${request.command} was cancelled before it started`);
  const job = new ExecJob(context.cgroups);
  const stdin = request.stdin === undefined ? "ignore" : "pipe";
  const child = job.start(prepared.file, request.args, { cwd: prepared.cwd, env: prepared.env, detached: true, stdio: [stdin, "pipe", "pipe"] });
  const output = collectOutput(child, context.outputLimit, sinks);
  if (request.stdin !== undefined && child.stdin) {
    child.stdin.on("error", () => undefined);
    child.stdin.end(request.stdin);
  }
  const ending = await awaitEnding(child, job, prepared, signal);
  if (ending.stoppedBy === "deadline") {
    throw agentError("exec_timeout", `${request.command} ran longer than ${prepared.timeoutSeconds} s; it and every process it started were killed`);
  }
  return { exitCode: exitCode(ending), ...output() };
}

function prepare(request: ExecRequest, context: ExecContext): Prepared {
  checkNoNul(request.command, "command");
  request.args.forEach((arg, i) => checkNoNul(arg, `args[${i}]`));
  for (const [key, value] of Object.entries(request.env)) checkNoNul(key + value, `env ${JSON.stringify(key.slice(0, 100))}`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, request.env);
  // Looking the executable and directory up synchronously costs microseconds; through the thread
  // pool, a tenth of a millisecond each, which is a tenth of the whole run of a small command.
  const file = resolveExecutable(request.command, env.PATH ?? DEFAULT_PATH, context.home);
  const cwd = workingDirectory(request.cwd, context.home);
  const timeoutSeconds = request.timeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0) || timeoutSeconds > MAX_TIMEOUT_SECONDS) throw agentError("invalid_argument", `timeout must be more than 0 and at most ${MAX_TIMEOUT_SECONDS} seconds`);
  return { file, cwd, env, timeoutSeconds };
}

/** Keeps each stream's output up to the limit and passes all of it to the sinks; what was kept, when asked. */
function collectOutput(child: ChildProcess, limit: number, sinks: ExecSinks): () => Omit<ExecResult, "exitCode"> {
  const collected = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const kept = { stdout: 0, stderr: 0 };
  const truncated = { stdout: false, stderr: false };
  for (const name of ["stdout", "stderr"] as const) {
    const stream = child[name];
    if (!stream) continue;
    stream.on("data", (chunk: Buffer) => {
      const room = limit - kept[name];
      if (room < chunk.length) truncated[name] = true;
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
  return () => ({ stdout: Buffer.concat(collected.stdout), stderr: Buffer.concat(collected.stderr), truncated });
}

/**
 * Waits for the command to exit and its output to reach its end. At the deadline, or on
 * cancellation, it kills the job, gives the output a short grace, then cuts it off: a process
 * that escaped every tie and keeps the output open must not hold the answer. What the command
 * left running after ending on its own, before the deadline, is left alone.
 */
function awaitEnding(child: ChildProcess, job: ExecJob, prepared: Prepared, signal: AbortSignal): Promise<Ending> {
  return new Promise((resolve, reject) => {
    let stoppedBy: Ending["stoppedBy"];
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      signal.removeEventListener("abort", onAbort);
      if (stoppedBy || child.pid === undefined) job.dispose();
      else job.release();
      outcome();
    };
    const stop = (why: "deadline" | "cancel"): void => {
      if (stoppedBy) return;
      stoppedBy = why;
      job.killAll();
      grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(() => resolve({ code: child.exitCode, signal: child.signalCode, stoppedBy }));
      }, OUTPUT_GRACE_MS);
    };
    const deadline = setTimeout(() => stop("deadline"), prepared.timeoutSeconds * 1000);
    const onAbort = (): void => stop("cancel");
    signal.addEventListener("abort", onAbort);
    child.once("error", (err) => finish(() => reject(spawnError(err, prepared.file))));
    child.once("close", (code: number | null, died: NodeJS.Signals | null) => finish(() => resolve({ code, signal: died, stoppedBy })));
  });
}

function exitCode(ending: Ending): number {
  if (ending.code !== null) return ending.code;
  // Killed, and cut off before its end was seen.
  if (ending.signal === null) return 128 + os.signals.SIGKILL;
  return 128 + os.signals[ending.signal];
}

/** A working directory as a command gets it: from the home unless absolute, and a directory. */
export function workingDirectory(path: string | undefined, home: string): string {
  const cwd = guestPath(path ?? "~", home);
  let info;
  try {
    info = statSync(cwd);
  } catch (err) {
    throw fsError(err, cwd);
  }
  if (!info.isDirectory()) throw agentError("not_a_directory", `cwd ${cwd} is not a directory`);
  return cwd;
}

/** The file a command names: a path as it is, a bare name looked up on `path`; why not, when none. */
export function resolveExecutable(command: string, path: string, home: string): string {
  if (command === "") throw agentError("invalid_argument", "command is empty");
  if (command.includes("/") || command.startsWith("~")) {
    const file = guestPath(command, home);
    checkExecutable(file, command);
    return file;
  }
  // A long shell command line is told as one (notFound); any other name past NAME_MAX names nothing.
  if (!SHELL_SYNTAX.test(command)) checkLength(command, "command", true);
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
  // A long command line is shown cut, or the advice would fall past the message's bound.
  const long = command.length > 200;
  const shown = JSON.stringify(long ? `${command.slice(0, 200)}…` : command);
  const viaShell = `{"command": "/bin/sh", "args": ["-c", ${long ? '"<the command line>"' : shown}]}`;
  return agentError("command_not_found", `${shown} is not a program: exec runs one program without a shell; pass arguments in "args", or run it through a shell: ${viaShell}`);
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
