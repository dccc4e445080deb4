import { readdirSync, readFileSync } from "node:fs";

/** What /proc/<pid>/stat says of a process that the supervisor needs. */
export interface ProcessStat {
  readonly pid: number;
  /** R, S, D, Z (a zombie: exited, not yet reaped), T... */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  readonly start: number;
}

export function processStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: fields count from the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { pid, state: fields[0] ?? "", ppid: Number(fields[1]), pgid: Number(fields[2]), start: Number(fields[19]) || 0 };
}

/** The kernel's start time of a process, or 0 when it is gone (or a zombie). */
export function processStart(pid: number): number {
  const stat = processStat(pid);
  return stat && stat.state !== "Z" ? stat.start : 0;
}

/** The live processes of a process group. */
export function groupMembers(pgid: number): ProcessStat[] {
  const members: ProcessStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(Number(entry));
    if (stat && stat.pgid === pgid && stat.state !== "Z") members.push(stat);
  }
  return members;
}
