import { Writable } from "node:stream";
import type Docker from "dockerode";
import type { ContainerCreateOptions } from "dockerode";
import type { Exit, OutputSink } from "../driver";

/** How long, once a container has exited, its last output may take to arrive. */
const LAST_OUTPUT_MS = 2000;

/** The engine's status code of a failed call, if it was one. */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** The engine's words for a failed call, without dockerode's `(HTTP code 500) server error - ` prefix. */
export function engineReason(err: unknown): string {
  const message = (err as Error).message;
  const json = (err as { json?: { message?: string; cause?: string } }).json;
  return (json?.message ?? message.replace(/^\(HTTP code \d+\)[^-]*- /, "")).trim();
}

/** Runs a call whose 404 (or 304/409: already so) means there is nothing left to do. */
export async function unlessGone(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if ([404, 304, 409].includes(statusOf(err) ?? 0)) return false;
    throw err;
  }
}

/**
 * Removes a container, whoever else is removing it at the same time (Podman answers such a
 * second removal with a 500, not a 404); whether it was there to remove.
 */
export async function removeContainer(docker: Docker, id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).remove({ force: true });
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    if (!(await isThere(docker, id))) return true;
    throw err;
  }
}

/** Sends a signal; one that finds the container already ended (or gone) has nothing to do. */
export async function signalContainer(docker: Docker, id: string, signal: string): Promise<void> {
  try {
    await docker.getContainer(id).kill({ signal });
  } catch (err) {
    if ([404, 409].includes(statusOf(err) ?? 0)) return;
    const info = await docker
      .getContainer(id)
      .inspect()
      .catch(() => undefined);
    if (info?.State.Running === true) throw err;
  }
}

async function isThere(docker: Docker, id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/**
 * Creates and starts a container, its stdout and stderr demultiplexed into `output` from its very
 * first byte (the logs are followed from the start, so nothing written before the attach is
 * lost); `exited` resolves with its exit code once its output has all come.
 */
export async function runContainer(docker: Docker, spec: ContainerCreateOptions, output: OutputSink): Promise<{ id: string; exited: Promise<Exit> }> {
  const container = await docker.createContainer(spec);
  try {
    await container.start();
  } catch (err) {
    await container.remove({ force: true }).catch(() => undefined);
    throw err;
  }
  const drained = followOutput(docker, container, output);
  const exited = container.wait().then(
    async (result: { StatusCode?: number }) => {
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, LAST_OUTPUT_MS).unref())]);
      return { code: result.StatusCode ?? null, signal: null };
    },
    // An engine gone away, or the container removed under it: nothing of it runs any more.
    () => ({ code: null, signal: "SIGKILL" }),
  );
  return { id: container.id, exited };
}

/** Resolves once the container's output stream ends (or cannot be had). */
async function followOutput(docker: Docker, container: Docker.Container, output: OutputSink): Promise<void> {
  const sink = (stream: "stdout" | "stderr"): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        output(stream, chunk);
        done();
      },
    });
  try {
    const logs = await container.logs({ follow: true, stdout: true, stderr: true });
    docker.modem.demuxStream(logs, sink("stdout"), sink("stderr"));
    await new Promise<void>((resolve) => {
      logs.once("end", resolve);
      logs.once("close", resolve);
      logs.once("error", () => resolve());
    });
  } catch {
    return;
  }
}
