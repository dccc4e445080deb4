import { spawn } from "node:child_process";
import { join } from "node:path";
import { spawn as spawnPty } from "node-pty";
import { packageRoot } from "../../cli/package-info";

export const GHOSTCTL = join(packageRoot, "cli", "ghostctl");

export interface GhostctlRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** ghostctl's environment, without what would point it at another daemon than `--home` says. */
function ghostctlEnv(): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  delete env.GHOSTD_HOME;
  delete env.GHOSTD_TARGET;
  return env;
}

/** Runs cli/ghostctl as a user would, its output piped; with `closeStdout`, its reader goes away before it writes. */
export function ghostctl(args: readonly string[], options: { home?: string; closeStdout?: boolean } = {}): Promise<GhostctlRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(GHOSTCTL, options.home ? ["--home", options.home, ...args] : [...args], { env: ghostctlEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** Runs ghostctl on a real terminal (a pseudo-terminal `cols` wide), as a person at one would: stdout and stderr are one `output`. */
export function ghostctlOnTerminal(args: readonly string[], cols = 120): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const pty = spawnPty(GHOSTCTL, [...args], { name: "xterm-256color", cols, rows: 30, env: ghostctlEnv() });
    let output = "";
    pty.onData((data) => (output += data));
    pty.onExit(({ exitCode }) => resolve({ code: exitCode, output }));
  });
}
