import { readFileSync } from "node:fs";
import type Docker from "dockerode";
import { processStat } from "../../../proc";
import type { ExecOptions } from "../driver";
import { statusOf, streamInto } from "./task";

/** An engine's full container id: what a container's cgroup path names. */
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/**
 * Runs `argv` in a running container (a healthcheck, a pg_dump) and resolves with its exit code:
 * 127 when there is no container to run it in, 128 when it outlives `timeoutMs` (as a killed
 * process would). A timed-out one is ended where this machine can (see endExec), else left to end
 * on its own. Its stdout and stderr go to `output` when given (the engine multiplexes them on one
 * stream), else are dropped.
 */
export async function execIn(docker: Docker, id: string, argv: readonly string[], options: ExecOptions): Promise<number> {
  const { timeoutMs, signal } = options;
  signal?.throwIfAborted();
  let exec: Docker.Exec;
  try {
    exec = await docker.getContainer(id).exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true });
  } catch (err) {
    if ([404, 409].includes(statusOf(err) ?? 0)) return 127;
    throw err;
  }
  const stream = await exec.start({});
  if (options.output) docker.modem.demuxStream(stream, streamInto(options.output, "stdout"), streamInto(options.output, "stderr"));
  stream.resume();
  const ended = await new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const abort = (): void => reject(signal?.reason as Error);
    signal?.addEventListener("abort", abort, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      resolve(true);
    };
    stream.once("end", done);
    stream.once("close", done);
  }).finally(() => stream.destroy());
  if (!ended) {
    // The probe has failed whatever comes of this: an engine that cannot tell leaves it running.
    await endExec(id, exec).catch(() => false);
    return 128;
  }
  const { ExitCode } = await exec.inspect();
  return ExitCode ?? 127;
}

/**
 * Ends an exec that is still running, with its process group (a shell probe's children with it),
 * by SIGKILL; says whether it could. The Engine API has no call that ends an exec (Docker and
 * Podman end a timed-out healthcheck of their own inside the engine), but exec inspect gives its
 * process's pid on the engine's machine. That pid is signalled only when it is a process of this
 * machine in that container's cgroup: with a remote engine (tcp://, a VM) it names no process of
 * ours, or another one, and nothing is sent. A pid reused between the check and the signal would
 * have to be the same container's within microseconds.
 */
export async function endExec(containerId: string, exec: Docker.Exec): Promise<boolean> {
  const { Running, Pid: pid } = await exec.inspect();
  if (!Running || !(pid > 0) || !inContainer(pid, containerId)) return false;
  // A runtime starts an exec as the leader of its own session and group, so the group is the probe's.
  const target = processStat(pid)?.pgid === pid ? -pid : pid;
  try {
    process.kill(target, "SIGKILL");
    return true;
  } catch {
    // Gone meanwhile, or not ours to signal (an engine of another user).
    return false;
  }
}

/** Whether a process of this machine runs in the container: its cgroup path names the container's full id, as Docker's and Podman's do. */
export function inContainer(pid: number, containerId: string): boolean {
  if (!CONTAINER_ID.test(containerId)) return false;
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(containerId);
  } catch {
    return false;
  }
}
