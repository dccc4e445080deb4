import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

/* What the snapshot bench measures with: resident memory from /proc, du, restic as a child. */

const run = promisify(execFile);

export function statusField(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined; // the process has exited
  }
}

/**
 * A process's peak resident memory over a span: VmRSS sampled every 10 ms, and (where
 * /proc/<pid>/clear_refs takes "5", which resets it) the kernel's own high-water mark VmHWM,
 * which no sample can miss. Worker threads share the process, so they are counted.
 */
export class RssWatch {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly hwmReset: boolean;

  constructor(private readonly pid: number) {
    this.hwmReset = RssWatch.resetHwm(pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), 10);
  }

  private static resetHwm(pid: number): boolean {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5");
      return true;
    } catch {
      return false;
    }
  }

  private sample(): void {
    this.peak = Math.max(this.peak, statusField(this.pid, "VmRSS") ?? 0);
  }

  /** Stops sampling; `hwm` is undefined when it could not be reset or read (the process is gone). */
  stop(): { sampled: number; hwm: number | undefined } {
    this.sample();
    clearInterval(this.timer);
    return { sampled: this.peak, hwm: this.hwmReset ? statusField(this.pid, "VmHWM") : undefined };
  }
}

/** `du -sb` (apparent bytes) and `du -sB1` (bytes allocated on disk) of a directory. */
export async function diskUsage(dir: string): Promise<{ apparent: number; allocated: number }> {
  const first = async (args: string[]) => Number((await run("du", [...args, dir])).stdout.split("\t")[0]);
  return { apparent: await first(["-sb"]), allocated: await first(["-sB1"]) };
}

/** Regular files under `dir` and their bytes, for checking a restored tree. */
export async function treeTotals(dir: string): Promise<{ files: number; bytes: number }> {
  const totals = { files: 0, bytes: 0 };
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(join(at, entry.name));
      else if (entry.isFile()) {
        totals.files++;
        totals.bytes += (await lstat(join(at, entry.name))).size;
      }
    }
  };
  await walk(dir);
  return totals;
}

/** Flushes every dirty page, so the next timed step does not pay for the last one's writeback. */
export async function syncAll(): Promise<void> {
  await run("sync");
}

export interface Finished {
  readonly ms: number;
  readonly stdout: string;
  readonly rss: number;
}

/** restic processes not yet exited: a bench stopped early ends them before removing their repository. */
const running = new Set<ChildProcess>();

let refusing = false;

/** Ends every restic still running and waits for each to exit; none starts after. */
export async function stopRestic(): Promise<void> {
  refusing = true;
  await Promise.all(
    [...running].map((child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      return exited;
    }),
  );
}

/** Runs restic to its exit, timed from spawn; its peak RSS sampled; a non-zero exit fails with its stderr. */
export function restic(args: readonly string[], env: Record<string, string>): Promise<Finished> {
  if (refusing) return Promise.reject(new Error("the bench is stopping: restic is not started"));
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn("restic", args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const watch = child.pid === undefined ? undefined : new RssWatch(child.pid);
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", (err) => {
      running.delete(child);
      watch?.stop();
      reject(err);
    });
    child.once("exit", (code) => {
      running.delete(child);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const rss = watch?.stop().sampled ?? 0;
      if (code === 0) resolve({ ms, stdout, rss });
      else reject(new Error(`restic ${args.join(" ")} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** restic's version line, or undefined when it is not installed. */
export async function resticVersion(): Promise<string | undefined> {
  return run("restic", ["version"]).then(
    ({ stdout }) => stdout.trim(),
    () => undefined,
  );
}
