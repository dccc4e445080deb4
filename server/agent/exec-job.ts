import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Cgroups, JobCgroup } from "../cgroup";
import { fdTarget, jobProcesses, signalQuietly, type JobTies } from "../proc";

/** The environment variable that marks every process of one exec; descendants inherit it. */
export const EXEC_ID_VARIABLE = "GHOSTD_EXEC_ID";

// Each round kills what the last scan found; a process forking meanwhile shows up in the next.
const MAX_KILL_ROUNDS = 20;

/**
 * The processes of one command, however far they stray: a cgroup of their own where one can be
 * made and, besides, the command's process group and session, a marker in their environment,
 * the holders of the command's output, and the descendants of all of these.
 */
export class ExecJob {
  readonly id = randomBytes(12).toString("hex");
  private cgroup: JobCgroup | undefined;
  private pid: number | undefined;
  private readonly outputs = new Set<string>();

  constructor(private readonly cgroups: Cgroups | undefined) {}

  /** Starts the command, with the job's marker added to `options.env`. */
  start(file: string, args: readonly string[], options: SpawnOptions & { env: Record<string, string> }): ChildProcess {
    const marked = { ...options, env: { ...options.env, [EXEC_ID_VARIABLE]: this.id } };
    this.cgroup = this.cgroups?.create(`ghostd-exec-${this.id}`);
    let child: ChildProcess;
    try {
      child = this.cgroup ? this.cgroup.enter(() => spawn(file, args, marked)) : spawn(file, args, marked);
    } catch (err) {
      this.dispose();
      throw err;
    }
    this.pid = child.pid;
    this.noteOutputs();
    return child;
  }

  /** Kills every process of the job, scanning again until a scan finds none it has not killed. */
  killAll(): void {
    this.cgroup?.kill();
    if (this.pid === undefined) return;
    signalQuietly(-this.pid, "SIGKILL");
    const ties = this.ties(this.pid);
    const killed = new Set<string>();
    for (let round = 0; round < MAX_KILL_ROUNDS; round++) {
      const fresh = jobProcesses(ties).filter((stat) => !killed.has(`${stat.pid}@${stat.start}`));
      if (fresh.length === 0) return;
      for (const stat of fresh) {
        killed.add(`${stat.pid}@${stat.start}`);
        signalQuietly(stat.pid, "SIGKILL");
      }
    }
  }

  /**
   * The command ended on its own, before its deadline: what it left in the background (a daemon
   * it was asked to start) lives on, outside the job's cgroup.
   */
  release(): void {
    this.cgroup?.release();
  }

  /** After killAll: the cgroup goes once its processes are gone. */
  dispose(): void {
    this.cgroup?.remove();
  }

  /**
   * What the command's stdout and stderr are, read while the command surely holds them: by the
   * deadline, a descendant that keeps them open may have left every other tie.
   */
  private noteOutputs(): void {
    if (this.pid === undefined) return;
    for (const fd of [1, 2]) {
      const target = fdTarget(this.pid, fd);
      if (target?.startsWith("socket:[") || target?.startsWith("pipe:[")) this.outputs.add(target);
    }
  }

  private ties(pid: number): JobTies {
    // Spawned detached, the command leads a session and a process group of its own.
    return { pids: new Set([pid]), group: pid, session: pid, environment: `${EXEC_ID_VARIABLE}=${this.id}`, holding: this.outputs, except: new Set([process.pid]) };
  }
}
