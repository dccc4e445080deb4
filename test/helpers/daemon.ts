import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../cli/package-info";
import { processStart } from "../../server/proc";
import type { Endpoints } from "../../cli/daemon";
import { tempDir } from "./tmp";
import { waitFor } from "./wait";

export const GHOSTD = join(packageRoot, "dist", "cli", "ghostd.js");

export interface DaemonProcess {
  readonly home: string;
  readonly endpoints: Endpoints;
  readonly child: ChildProcess;
  /** Everything the daemon wrote so far, stdout and stderr. */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the home directory (after stop). */
  cleanup(): void;
}

export interface SpawnOptions {
  readonly mode?: "serve" | "agent" | "gateway";
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  /** Use this home instead of a fresh one. */
  readonly home?: string;
  /** Start it as the README does, through `npm start` (serve only), with npm's environment. */
  readonly viaNpm?: boolean;
  /** Run it as this user; a fresh home is made theirs. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

/** Runs the real `ghostd` binary and waits until its endpoints file says it is listening. */
export async function spawnDaemon(options: SpawnOptions = {}): Promise<DaemonProcess> {
  const dir = options.home ? undefined : tempDir();
  const home = options.home ?? dir?.path ?? "";
  if (dir && options.user) chownSync(dir.path, options.user.uid, options.user.gid);
  const args = ["--home", home];
  if ((options.mode ?? "serve") !== "agent" && !options.args?.includes("--http")) args.push("--http", "127.0.0.1:0");
  args.push(...(options.args ?? []));
  const file = join(home, "run", "endpoints.json");
  const stale = readEndpoints(file)?.pid;
  const [program, argv] = options.viaNpm ? ["npm", ["start", "--silent", "--", ...args]] : [process.execPath, [GHOSTD, options.mode ?? "serve", ...args]];
  // Under npm, a signal goes to the whole group, as Ctrl-C in a terminal does: npm does not pass it on.
  const child = spawn(program, argv, { cwd: packageRoot, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: options.viaNpm === true, ...options.user });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // Through npm the daemon is not the child itself: any file but the one a killed run left will do.
  const written = (endpoints: Endpoints | undefined): boolean => endpoints !== undefined && (options.viaNpm ? endpoints.pid !== stale : endpoints.pid === child.pid);
  // A daemon that never gets there is killed, not left running past its test (with its output told).
  const endpoints = await waitFor(
    `ghostd to write ${file}`,
    () => {
      if (child.exitCode !== null) throw new Error(`ghostd exited with ${child.exitCode}: ${output}`);
      const read = readEndpoints(file);
      return written(read) && read;
    },
    30_000,
  ).catch((err: unknown) => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(options.viaNpm ? -child.pid : child.pid, "SIGKILL");
    throw new Error(`${(err as Error).message}; its output: ${output}`, { cause: err });
  });
  return {
    home,
    endpoints,
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && options.viaNpm && child.pid !== undefined) process.kill(-child.pid, signal);
      else if (child.exitCode === null) child.kill(signal);
      const code = await exited;
      // npm may end before the daemon it started has finished stopping.
      if (options.viaNpm) await waitFor(`ghostd (pid ${endpoints.pid}) to exit`, () => processStart(endpoints.pid) === 0);
      return code;
    },
    cleanup: () => dir?.remove(),
  };
}

function readEndpoints(file: string): Endpoints | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Endpoints) : undefined;
}

/**
 * Runs ghostd to completion (for start-up failures) and returns its exit code and output. One
 * that is still running after `timeoutMs` (it started when it should have refused) is killed,
 * and its code is null.
 */
export function runGhostd(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GHOSTD, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
