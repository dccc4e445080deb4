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

/** Sends a signal to a process, or with a negative pid to a process group; one already gone is no error. */
export function signalQuietly(pid: number, signal: string): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
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

/** Whether a process's environment as it was exec'd (/proc/<pid>/environ) holds `entry`, `NAME=value`. */
export function environmentHas(pid: number, entry: string): boolean {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false;
  }
  const needle = Buffer.from(`${entry}\0`);
  for (let at = environ.indexOf(needle); at !== -1; at = environ.indexOf(needle, at + 1)) {
    if (at === 0 || environ[at - 1] === 0) return true;
  }
  return false;
}

/** What a process's open file descriptor points at (`socket:[4711]`, `pipe:[42]`, a path), or undefined. */
export function fdTarget(pid: number, fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Whether any open file descriptor of a process points at one of `targets`. */
export function holdsAnyOf(pid: number, targets: ReadonlySet<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    const target = fdTarget(pid, Number(fd));
    return target !== undefined && targets.has(target);
  });
}

/**
 * What ties a process to a job ghostd started; one tie is enough. Each catches what the others
 * miss: a process that called setsid leaves the group and session, an orphan loses its parent,
 * `env -i` drops the environment entry, and one that closed its output holds no descriptor.
 */
export interface JobTies {
  /** The job's own processes (its leader). */
  readonly pids: ReadonlySet<number>;
  readonly group?: number;
  readonly session?: number;
  /** An environment entry, `NAME=value`, that only the job's processes carry. */
  readonly environment?: string;
  /** Descriptor targets (`socket:[4711]`) that only the job's processes hold. */
  readonly holding?: ReadonlySet<string>;
  /** Never part of it: the caller, which holds the other end of the job's output. */
  readonly except: ReadonlySet<number>;
}

/** The live processes tied to a job and every descendant of theirs, from one pass over /proc. */
export function jobProcesses(ties: JobTies): ProcessStat[] {
  const all = processesWhere((stat) => !ties.except.has(stat.pid));
  const tied = all.filter((stat) => isTied(stat, ties));
  return withDescendants(tied, all);
}

function isTied(stat: ProcessStat, ties: JobTies): boolean {
  if (ties.pids.has(stat.pid) || stat.pgid === ties.group || stat.sid === ties.session) return true;
  if (ties.environment !== undefined && environmentHas(stat.pid, ties.environment)) return true;
  return ties.holding !== undefined && ties.holding.size > 0 && holdsAnyOf(stat.pid, ties.holding);
}

function withDescendants(roots: readonly ProcessStat[], all: readonly ProcessStat[]): ProcessStat[] {
  const children = new Map<number, ProcessStat[]>();
  for (const stat of all) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  const found = new Map(roots.map((stat) => [stat.pid, stat]));
  const queue = [...roots];
  for (let next = queue.pop(); next; next = queue.pop()) {
    for (const child of children.get(next.pid) ?? []) {
      if (found.has(child.pid)) continue;
      found.set(child.pid, child);
      queue.push(child);
    }
  }
  return [...found.values()];
}
