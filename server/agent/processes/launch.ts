import { DEFAULT_PATH, resolveExecutable, workingDirectory } from "../exec";
import { checkNoNul } from "../paths";
import { ptySizeProblem } from "../../pty-size";
import { agentError } from "../reasons";
import type { StartOptions } from "./types";

const MAX_TAG_LENGTH = 256;

/** A start request checked and resolved: what to run, where, with what. */
export interface Launch {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly tag: string;
  readonly pty: { readonly cols: number; readonly rows: number } | undefined;
}

export interface LaunchContext {
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Checks a start request and resolves it as exec does: the command on PATH unless it holds a
 * slash, the cwd from the home, the agent's environment under the request's. A PTY gets
 * TERM=xterm-256color unless the request sets TERM: the PTY host emulates that terminal, whatever
 * TERM the agent itself was started with.
 */
export function prepareLaunch(options: StartOptions, context: LaunchContext): Launch {
  checkNoNul(options.command, "command");
  options.args.forEach((arg, i) => checkNoNul(arg, `args[${i}]`));
  for (const [key, value] of Object.entries(options.env)) checkNoNul(key + value, `env ${JSON.stringify(key.slice(0, 100))}`);
  const tag = options.tag ?? "";
  if (tag.length > MAX_TAG_LENGTH) throw agentError("invalid_argument", `tag is ${tag.length} characters long; at most ${MAX_TAG_LENGTH}`);
  checkNoNul(tag, "tag");
  if (options.pty) checkPtySize(options.pty.cols, options.pty.rows);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) if (value !== undefined) env[key] = value;
  if (options.pty) env.TERM = "xterm-256color";
  Object.assign(env, options.env);
  const file = resolveExecutable(options.command, env.PATH ?? DEFAULT_PATH, context.home);
  const cwd = workingDirectory(options.cwd, context.home);
  return { file, args: [...options.args], cwd, env, tag, pty: options.pty ? { cols: options.pty.cols, rows: options.pty.rows } : undefined };
}

export function checkPtySize(cols: number, rows: number): void {
  const problem = ptySizeProblem(cols, rows);
  if (problem) throw agentError("invalid_argument", problem);
}
