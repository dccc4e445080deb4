import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parens. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The foreground process group of the terminal a process controls (stat's tpgid), if any. */
export function foregroundGroup(pid: number): number | undefined {
  const tpgid = Number(statFields(pid)?.[5]);
  return Number.isInteger(tpgid) && tpgid > 0 ? tpgid : undefined;
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

/** Every live process of a session (stat's sid), the session leader included. */
export function sessionMembers(sid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // fields[0] is the state; a zombie is already gone but for its parent's wait.
    if (fields && Number(fields[3]) === sid && fields[0] !== "Z") members.push(Number(entry));
  }
  return members;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return statFields(pid)?.[0] !== "Z";
  } catch {
    return false;
  }
}
