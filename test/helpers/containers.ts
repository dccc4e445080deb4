import { randomBytes } from "node:crypto";
import type Docker from "dockerode";

/** The label every container and network a test makes carries, so leftovers can be found. */
export const TEST_LABEL = "ghostd.test";
/** Which test run made a resource: cleanup removes only its own run's, not a parallel run's. */
export const RUN_LABEL = "ghostd.test.run";

/** One test file's resources on the engine: their labels and a unique name prefix. */
export interface TestRun {
  readonly id: string;
  readonly labels: Record<string, string>;
  /** For names of containers and networks, which are global on the engine. */
  name(suffix: string): string;
}

export function testRun(): TestRun {
  const id = `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
  return { id, labels: { [TEST_LABEL]: "1", [RUN_LABEL]: id }, name: (suffix) => `ghostd-test-${id}-${suffix}` };
}

export interface Exited {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Splits a non-TTY container's log stream: 8-byte frame headers (stream, size) before each chunk. */
export function demuxLogs(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const size = raw.readUInt32BE(at + 4);
    const chunk = raw.subarray(at + 8, at + 8 + size);
    (raw[at] === 2 ? err : out).push(chunk);
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

/** Creates a container of the run (labelled), starts it, and returns it without waiting. */
export async function startContainer(docker: Docker, run: TestRun, options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  const container = await docker.createContainer({ ...options, Labels: { ...options.Labels, ...run.labels } });
  await container.start();
  return container;
}

/** Runs a container to its end and returns its exit code and output. */
export async function runToExit(docker: Docker, run: TestRun, options: Docker.ContainerCreateOptions): Promise<Exited> {
  const container = await startContainer(docker, run, options);
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  const logs = await container.logs({ stdout: true, stderr: true, follow: false });
  return { exitCode: StatusCode, ...demuxLogs(logs) };
}

/** Removes the run's containers (running or not), then its networks and the images it built. */
export async function removeRun(docker: Docker, run: TestRun): Promise<void> {
  const filters = JSON.stringify({ label: [`${RUN_LABEL}=${run.id}`] });
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove()));
  const images = await docker.listImages({ filters });
  await Promise.all(images.map((i) => docker.getImage(i.Id).remove({ force: true })));
}

/**
 * Builds `files` (a Dockerfile among them) through the engine's build API as `tag`, labelled
 * with the run; resolves when the build succeeded and rejects with its last lines when it did not.
 */
export async function buildImage(docker: Docker, run: TestRun, tag: string, context: string, files: readonly string[]): Promise<void> {
  const stream = await docker.buildImage({ context, src: [...files] }, { t: tag, labels: run.labels, rm: true });
  const events = await new Promise<{ stream?: string; error?: string }[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: { stream?: string; error?: string }[]) => (err ? reject(err) : resolve(output)));
  });
  // Like import, a failed build is reported inside the 200 stream.
  const failure = events.find((e) => e.error !== undefined);
  if (failure !== undefined) {
    const log = events.map((e) => e.stream ?? "").join("").trim().split("\n").slice(-10).join("\n");
    throw new Error(`building ${tag}: ${failure.error ?? ""}\n${log}`);
  }
}
