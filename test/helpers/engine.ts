import type Docker from "dockerode";
import { engineCandidates, findEngine, NoEngine } from "../../server/supervisor/runtime/container/engine";
import { requireTools } from "./tools";

/**
 * A client for the engine the container tests run against, found exactly as the daemon finds
 * one (DOCKER_HOST alone when set), so a test never runs against another engine. Without one, the
 * test skips on a developer's machine and fails under CI, as requireTools does, saying how to get one.
 */
export async function requireEngine(context: Mocha.Context): Promise<Docker> {
  const candidates = engineCandidates(process.env);
  try {
    return (await findEngine(candidates)).docker;
  } catch (err) {
    if (!(err instanceof NoEngine)) throw err;
  }
  requireTools(context, [{ what: `a container engine answering at ${candidates.join(", ")}`, present: false, provider: "scripts/container-engine.sh up" }]);
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
