import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** What /proc/<pid>/stat says of a process that ghostd needs. */
export interface ProcessStat {
  readonly pid: number;
  /** R, S, D, Z (a zombie: exited, not yet reaped), T... */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  /** The session (its leader's pid). */
  readonly sid: number;
  /** The foreground process group of the terminal the process controls, or -1. */
  readonly tpgid: number;
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
  // The command name is in parentheses and may hold spaces and parens: fields count from the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const field = (i: number): number => Number(fields[i]);
  return { pid, state: fields[0] ?? "", ppid: field(1), pgid: field(2), sid: field(3), tpgid: field(5), start: field(19) || 0 };
}

/** The kernel's start time of a process, or 0 when it is gone (or a zombie). */
export function processStart(pid: number): number {
  const stat = processStat(pid);
  return stat && stat.state !== "Z" ? stat.start : 0;
}

/** The live processes (zombies are gone but for their parent's wait) that `match` picks. */
export function processesWhere(match: (stat: ProcessStat) => boolean): ProcessStat[] {
  const found: ProcessStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(Number(entry));
    if (stat && stat.state !== "Z" && match(stat)) found.push(stat);
  }
  return found;
}

/** The live processes of a process group. */
export function groupMembers(pgid: number): ProcessStat[] {
  return processesWhere((stat) => stat.pgid === pgid);
}

/** The live processes of a session, its leader included. */
export function sessionMembers(sid: number): number[] {
  return processesWhere((stat) => stat.sid === sid).map((stat) => stat.pid);
}

/** The foreground process group of the terminal a process controls, if any. */
export function foregroundGroup(pid: number): number | undefined {
  const tpgid = processStat(pid)?.tpgid;
  return tpgid !== undefined && Number.isInteger(tpgid) && tpgid > 0 ? tpgid : undefined;
}

/** A process's command name (`vim`, `bash`). */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function processCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}
