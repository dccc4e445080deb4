import Docker from "dockerode";
import { requireTools } from "./tools";

/** Where the tests look for an engine, in the order the container runtime looks. */
export function engineCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock"];
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir !== undefined && process.getuid?.() !== 0) candidates.push(`unix://${runtimeDir}/podman/podman.sock`);
  // A DOCKER_HOST the user set is the only place: falling back elsewhere would test another engine.
  const host = env.DOCKER_HOST;
  return host !== undefined && host !== "" ? [host] : candidates;
}

/** dockerode's options for a DOCKER_HOST value: a unix socket, or tcp:// (plain HTTP). */
export function dockerOptions(host: string): Docker.DockerOptions {
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  const url = new URL(host.replace(/^tcp:/, "http:"));
  return { protocol: "http", host: url.hostname, port: url.port === "" ? 2375 : Number(url.port) };
}

async function answers(host: string): Promise<boolean> {
  // Its own client with a timeout: a socket nobody serves must not hang the probe.
  const probe = new Docker({ ...dockerOptions(host), timeout: 3000 });
  try {
    await probe.ping();
    return true;
  } catch {
    return false;
  }
}

/** A client for the first engine that answers `_ping`, with its DOCKER_HOST value; undefined when none does. */
export async function findEngine(env: NodeJS.ProcessEnv = process.env): Promise<{ docker: Docker; host: string } | undefined> {
  for (const host of engineCandidates(env)) {
    if (await answers(host)) return { docker: new Docker(dockerOptions(host)), host };
  }
  return undefined;
}

/**
 * A client for the engine the container tests run against. Without one, the test skips on a
 * developer's machine and fails under CI, as requireTools does, saying how to get one.
 */
export async function requireEngine(context: Mocha.Context): Promise<Docker> {
  const found = await findEngine();
  if (found !== undefined) return found.docker;
  const tried = engineCandidates().join(", ");
  requireTools(context, [{ what: `a container engine answering at ${tried}`, present: false, provider: "scripts/container-engine.sh up" }]);
  throw new Error("unreachable: requireTools skips or throws");
}

/** Removes every container, then network and image, carrying a label (`ghostd.namespace=...` or `ghostd.project=...`). */
export async function removeLabelled(docker: Docker, label: string): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) await docker.getContainer(c.Id).remove({ force: true });
  for (const n of await docker.listNetworks({ filters: { label: [label] } })) await docker.getNetwork(n.Id).remove();
  for (const i of await docker.listImages({ filters: { label: [label] } })) await docker.getImage(i.Id).remove({ force: true });
}

/** The engine's containers of a project, by service. */
export async function containersOf(docker: Docker, projectId: string): Promise<Map<string, Docker.ContainerInfo>> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`ghostd.project=${projectId}`] } });
  return new Map(containers.map((c) => [c.Labels["ghostd.service"] ?? "", c]));
}
