import { readdirSync, readFileSync } from "node:fs";
import { waitFor } from "./wait";

/** How many file descriptors a process holds open, from /proc. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A process's resident memory in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * Waits until a process holds no more than `baseline + slack` descriptors; the error names the
 * count it was left at, so a leak reads as "30 fds, expected at most 28".
 */
export async function fdsBackTo(pid: number, baseline: number, slack = 2, timeoutMs = 10_000): Promise<void> {
  let last = fdCount(pid);
  try {
    await waitFor(`pid ${pid} back to ${baseline} fds`, () => (last = fdCount(pid)) <= baseline + slack, timeoutMs);
  } catch {
    throw new Error(`pid ${pid} still holds ${last} fds after ${timeoutMs} ms, expected at most ${baseline + slack} (baseline ${baseline})`);
  }
}

export const MiB = 1024 * 1024;
