import { Writable } from "node:stream";
import type Docker from "dockerode";
import type { ContainerCreateOptions } from "dockerode";
import type { Exit, OutputSink } from "../driver";
import type { ExitWatch } from "./exits";

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
export async function runContainer(docker: Docker, spec: ContainerCreateOptions, output: OutputSink, exits: ExitWatch): Promise<{ id: string; exited: Promise<Exit> }> {
  const container = await docker.createContainer(spec);
  try {
    await container.start();
  } catch (err) {
    await container.remove({ force: true }).catch(() => undefined);
    throw err;
  }
  return { id: container.id, exited: watchContainer(exits, container.id, followOutput(docker, container, output)) };
}

/**
 * Watches a container an earlier daemon started: its output written after `since` goes to
 * `output` (what came before is in the log book already), and the promise resolves when it exits.
 */
export function adoptContainer(docker: Docker, id: string, output: OutputSink, since: Date | undefined, exits: ExitWatch): Promise<Exit> {
  const container = docker.getContainer(id);
  return watchContainer(exits, id, followOutput(docker, container, since === undefined ? output : after(since, output), since));
}

/** Resolves with the container's exit once its output has all come (or LAST_OUTPUT_MS after). */
async function watchContainer(exits: ExitWatch, id: string, drained: Promise<void>): Promise<Exit> {
  const exit = await exits.exited(id);
  await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, LAST_OUTPUT_MS).unref())]);
  return exit;
}

/**
 * Resolves once the container's output stream ends (or cannot be had). With `since`, the engine
 * sends from that second on, each line stamped, for `after` to drop what came before.
 */
async function followOutput(docker: Docker, container: Docker.Container, output: OutputSink, since?: Date): Promise<void> {
  try {
    const stamped = since === undefined ? {} : { since: Math.floor(since.getTime() / 1000), timestamps: true };
    const logs = await container.logs({ follow: true, stdout: true, stderr: true, ...stamped });
    docker.modem.demuxStream(logs, streamInto(output, "stdout"), streamInto(output, "stderr"));
    await new Promise<void>((resolve) => {
      logs.once("end", resolve);
      logs.once("close", resolve);
      logs.once("error", () => resolve());
    });
  } catch {
    return;
  }
}

/** One stream of an engine's multiplexed output, as demuxStream writes it, handed to `output`. */
export function streamInto(output: OutputSink, stream: "stdout" | "stderr"): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      output(stream, chunk);
      done();
    },
  });
}

/**
 * Output of lines stamped by the engine (`<RFC 3339 time> <line>`): the stamp is taken off, and
 * lines stamped at or before `since` are dropped. A line split across chunks waits for its end.
 */
export function after(since: Date, output: OutputSink): OutputSink {
  const pending = { stdout: "", stderr: "" };
  return (stream, chunk) => {
    const lines = (pending[stream] + chunk.toString("utf8")).split("\n");
    pending[stream] = lines.pop() ?? "";
    const kept = lines.flatMap((line) => {
      const space = line.indexOf(" ");
      const stamp = Date.parse(line.slice(0, space));
      return Number.isNaN(stamp) ? [line] : stamp > since.getTime() ? [line.slice(space + 1)] : [];
    });
    if (kept.length > 0) output(stream, Buffer.from(kept.map((line) => `${line}\n`).join("")));
  };
}
