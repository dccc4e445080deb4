import type Docker from "dockerode";
import { networkName, resourceLabels } from "./labels";

/**
 * The project's network, made if it is not there: services reach each other on it by name and
 * alias through the engine's DNS. `internal` when the project may not reach beyond this machine;
 * one made for the other setting (the manifest changed) is made again.
 */
export async function ensureNetwork(docker: Docker, projectId: string, namespace: string, egress: boolean): Promise<string> {
  const name = networkName(namespace);
  const existing = await inspectNetwork(docker, name);
  if (existing && existing.Internal === !egress) return name;
  if (existing) await docker.getNetwork(name).remove();
  try {
    await docker.createNetwork({ Name: name, Driver: "bridge", Internal: !egress, CheckDuplicate: true, Labels: resourceLabels(projectId, namespace) });
  } catch (err) {
    // Made meanwhile by another start of the same project: that one is as good.
    if ((await inspectNetwork(docker, name))?.Internal !== !egress) throw err;
  }
  return name;
}

/** Removes the namespace's network, if it is there; says what it removed. */
export async function removeNetwork(docker: Docker, namespace: string): Promise<string | undefined> {
  const name = networkName(namespace);
  if (!(await inspectNetwork(docker, name))) return undefined;
  await docker.getNetwork(name).remove();
  return `network ${name}`;
}

async function inspectNetwork(docker: Docker, name: string): Promise<{ Internal?: boolean } | undefined> {
  try {
    const info: { Internal?: boolean } = await docker.getNetwork(name).inspect();
    return info;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}
