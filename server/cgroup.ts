import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const REMOVE_RETRIES = 20;
const REMOVE_RETRY_MS = 100;

/**
 * Cgroups (v2) of this process's own making, one per job, under the cgroup it runs in. What a
 * job's first process forks starts in the job's cgroup and cannot leave it without privileges,
 * and `cgroup.kill` kills all of it at once, forks racing the kill included: no scan of /proc
 * can promise that. Where none can be made (cgroup v1 only, a read-only mount, another user's
 * cgroup, a kernel before 5.14), `find` or `create` says so and callers do without.
 */
export class Cgroups {
  private usable = true;

  private constructor(private readonly own: string) {}

  /** Where this process may make cgroups, or undefined. */
  static find(mountinfo = "/proc/self/mountinfo", membership = "/proc/self/cgroup"): Cgroups | undefined {
    try {
      const mount = cgroup2Mount(readFileSync(mountinfo, "utf8"));
      const path = /^0::(\/.*)$/m.exec(readFileSync(membership, "utf8"))?.[1];
      if (mount === undefined || path === undefined || path.endsWith(" (deleted)")) return undefined;
      const own = join(mount, path);
      accessSync(own, constants.W_OK);
      accessSync(join(own, "cgroup.procs"), constants.W_OK);
      return new Cgroups(own);
    } catch {
      return undefined;
    }
  }

  /** A new, empty cgroup for one job; undefined when it cannot be made (and then never again). */
  create(name: string): JobCgroup | undefined {
    if (!this.usable) return undefined;
    const dir = join(this.own, name);
    try {
      mkdirSync(dir);
    } catch {
      this.usable = false;
      return undefined;
    }
    if (!existsSync(join(dir, "cgroup.kill"))) {
      rmdirQuietly(dir);
      this.usable = false;
      return undefined;
    }
    return new JobCgroup(dir, this.own, () => (this.usable = false));
  }
}

export class JobCgroup {
  constructor(
    readonly dir: string,
    private readonly own: string,
    private readonly unusable: () => void,
  ) {}

  /**
   * Runs `start` with this process inside the cgroup, so that the process it forks begins life
   * there: moving the new process in afterwards would let it fork first. Should the move fail,
   * `start` still runs, outside, and the other ways of finding a job's processes remain.
   */
  enter<T>(start: () => T): T {
    try {
      writeFileSync(join(this.dir, "cgroup.procs"), String(process.pid));
    } catch {
      this.unusable();
      return start();
    }
    try {
      return start();
    } finally {
      this.leave();
    }
  }

  /** Kills every process in the cgroup (never this one, should it have failed to leave). */
  kill(): void {
    if (this.members().includes(process.pid)) return;
    try {
      writeFileSync(join(this.dir, "cgroup.kill"), "1");
    } catch {
      // Removed already, or the kernel refused: the /proc scan still runs.
    }
  }

  /**
   * For a job that ended on its own: what it left running in the background (a daemon it was
   * asked to start) moves out to this process's cgroup and lives on; the job's cgroup goes.
   */
  release(): void {
    for (let round = 0; round < 10; round++) {
      const members = this.members();
      if (members.length === 0) break;
      for (const pid of members) {
        try {
          writeFileSync(join(this.own, "cgroup.procs"), String(pid));
        } catch {
          // It exited meanwhile.
        }
      }
    }
    this.remove();
  }

  /** Removes the cgroup once it is empty: killed processes may take a moment to leave it. */
  remove(retries = REMOVE_RETRIES): void {
    try {
      rmdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EBUSY" && retries > 0) setTimeout(() => this.remove(retries - 1), REMOVE_RETRY_MS).unref();
    }
  }

  private leave(): void {
    try {
      writeFileSync(join(this.own, "cgroup.procs"), String(process.pid));
    } catch {
      // Stuck inside: kill() checks for this process, and no other job uses cgroups from now on.
      this.unusable();
    }
  }

  private members(): number[] {
    try {
      return readFileSync(join(this.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }
}

/**
 * The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo: `/sys/fs/cgroup` on a
 * unified system, `/sys/fs/cgroup/unified` on a hybrid one. Only a mount of the hierarchy's root
 * maps /proc/self/cgroup's path onto a directory.
 */
export function cgroup2Mount(mountinfo: string): string | undefined {
  const mounts: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    const fields = left?.split(" ") ?? [];
    if (right?.split(" ")[0] !== "cgroup2" || fields[3] !== "/" || fields[4] === undefined) continue;
    mounts.push(fields[4].replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  }
  return mounts.find((mount) => mount === "/sys/fs/cgroup") ?? mounts[0];
}

function rmdirQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Left for whoever looks.
  }
}
