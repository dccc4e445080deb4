import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { engineAddress, engineCandidates } from "../../server/supervisor/runtime/container/engine";
import type { Need } from "./tools";

/**
 * A container engine for tests: the Docker Engine API where ghostd would look for one. Set up by
 * scripts/container-engine.sh (Podman's API service), which .ci/run runs.
 */
export function engineNeed(): Need {
  const socket = engineCandidates(process.env)
    .map((candidate) => engineAddress(candidate))
    .find((address) => "socketPath" in address && existsSync(address.socketPath));
  return { what: "a Docker Engine API (DOCKER_HOST, /var/run/docker.sock or Podman's socket)", present: socket !== undefined, provider: "scripts/container-engine.sh up (Debian package podman), with DOCKER_HOST exported" };
}

export function engineClient(): Docker {
  const socket = engineCandidates(process.env)
    .map((candidate) => engineAddress(candidate))
    .find((address) => "socketPath" in address && existsSync(address.socketPath));
  if (!socket) throw new Error("no container engine socket");
  return new Docker(socket);
}

/** A Python image built from Debian's packages, kept between runs (no registry is reachable in CI). */
export const PYTHON_IMAGE = "localhost/ghostd-test-python:bookworm";
const IMAGE_CACHE = process.env.GHOSTD_TEST_IMAGE_CACHE ?? "/var/cache/ghostd-test-images";

/**
 * Makes PYTHON_IMAGE if the engine lacks it: a Debian root file system from mmdebstrap (cached
 * as a tar), imported through the Engine API. Test set-up only: the daemon never runs a CLI.
 */
export async function ensurePythonImage(docker: Docker): Promise<void> {
  const present = await docker
    .getImage(PYTHON_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (present) return;
  const tar = join(IMAGE_CACHE, "python-bookworm.tar");
  if (!existsSync(tar)) {
    mkdirSync(IMAGE_CACHE, { recursive: true });
    execFileSync("mmdebstrap", ["--variant=minbase", "--include=python3", "bookworm", `${tar}.partial.tar`], { stdio: "ignore" });
    renameSync(`${tar}.partial.tar`, tar);
  }
  const [repo = "", tag = ""] = PYTHON_IMAGE.split(/:(?=[^:]*$)/);
  const stream = await docker.importImage(createReadStream(tar), { repo, tag, changes: ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["python3"]'] });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, events: unknown) => (err ? reject(err) : resolve(events))));
  // Podman's import ignores the tag and names the image :latest: tag it as asked.
  const tagged = await docker
    .getImage(PYTHON_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (!tagged) {
    await docker.getImage(`${repo}:latest`).tag({ repo, tag });
    await docker.getImage(`${repo}:latest`).remove({ noprune: true });
  }
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
