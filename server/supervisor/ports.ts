import { createSocket } from "node:dgram";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import type { PortPlan, ServicePlan } from "./plan";
import { groupMembers } from "../proc";
import type { PortRow, Registry } from "./registry";
import { supervisorError } from "./reasons";

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** Whether 127.0.0.1:port can be bound right now. */
export function isFree(port: number, protocol: "tcp" | "udp"): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === "udp") {
      const socket = createSocket("udp4");
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
      return;
    }
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const keyOf = (service: string, port: PortPlan | PortRow): string =>
  `${service}:${"containerPort" in port ? port.containerPort : 0}/${port.protocol}`;

/**
 * Host ports for a project's services, on 127.0.0.1: a port asked for by number (`8080:80`) must
 * be free, else PORT_CONFLICT; the others come from the range (or from their own, `8000-9000:80`). A project keeps its ports from one
 * start to the next; `recheck` moves those something else has taken since (`owned` says which of
 * the taken ones the project's own services hold, as their runtime tells).
 */
export async function allocatePorts(
  registry: Registry,
  range: PortRange,
  projectId: string,
  services: readonly ServicePlan[],
  recheck: boolean,
  owned: (port: PortRow) => Promise<boolean> = () => Promise.resolve(false),
): Promise<PortRow[]> {
  const existing = new Map(registry.ports(projectId).map((row) => [keyOf(row.serviceName, row), row]));
  const wanted = services.flatMap((service) => service.ports.filter((p) => p.exposure === "auto").map((p) => ({ service: service.name, port: p })));
  const taken = registry.takenPorts();
  for (const row of existing.values()) taken.delete(`${row.hostPort}/${row.protocol}`);
  const result: PortRow[] = [];
  const claim = (row: PortRow): void => {
    taken.add(`${row.hostPort}/${row.protocol}`);
    result.push(row);
  };
  const usable = async (row: PortRow): Promise<boolean> => !recheck || (await owned(row)) || (await isFree(row.hostPort, row.protocol));

  for (const { service, port } of wanted) {
    const current = existing.get(keyOf(service, port));
    const base = { projectId, serviceName: service, containerPort: port.containerPort, protocol: port.protocol };
    if (port.hostPort !== undefined) {
      const row: PortRow = { ...base, hostPort: port.hostPort, fixed: true };
      const ours = current?.hostPort === port.hostPort;
      if (taken.has(`${port.hostPort}/${port.protocol}`) || (!(ours && !recheck) && !(await owned(row)) && !(await isFree(port.hostPort, port.protocol)))) {
        throw supervisorError("PORT_CONFLICT", `${service} asks for host port ${port.hostPort}/${port.protocol}, which something else holds`, { service, host_port: String(port.hostPort), protocol: port.protocol });
      }
      claim(row);
      continue;
    }
    const within = port.hostRange ?? range;
    if (current && !current.fixed && current.hostPort >= within.from && current.hostPort <= within.to && !taken.has(`${current.hostPort}/${current.protocol}`) && (await usable(current))) {
      claim(current);
      continue;
    }
    let found: number | undefined;
    for (let candidate = within.from; candidate <= within.to && found === undefined; candidate++) {
      if (!taken.has(`${candidate}/${port.protocol}`) && (await isFree(candidate, port.protocol))) found = candidate;
    }
    if (found === undefined) {
      throw supervisorError("PORT_CONFLICT", `no free host port left in ${within.from}-${within.to} for ${service}:${port.containerPort}`, { service, container_port: String(port.containerPort), protocol: port.protocol });
    }
    claim({ ...base, hostPort: found, fixed: false });
  }

  registry.transaction(() => {
    registry.deletePorts(projectId);
    for (const row of result) registry.insertPort(row);
  });
  return result;
}

/**
 * Whether a process of the group `pgid` holds the port (a listening TCP or bound UDP socket on
 * it), read from /proc: the socket's inode in the socket table of the group leader's network
 * namespace (a sandboxed project's own), then the group's file descriptors.
 */
export function heldByGroup(port: number, protocol: "tcp" | "udp", pgid: number): boolean {
  const inodes = new Set<string>();
  for (const table of protocol === "tcp" ? ["tcp", "tcp6"] : ["udp", "udp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pgid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1] ?? "";
      const state = fields[3];
      if (parseInt(local.split(":")[1] ?? "", 16) === port && (protocol === "udp" || state === "0A")) inodes.add(fields[9] ?? "");
    }
  }
  if (inodes.size === 0) return false;
  for (const member of groupMembers(pgid)) {
    try {
      for (const fd of readdirSync(`/proc/${member.pid}/fd`)) {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${member.pid}/fd/${fd}`));
        if (match?.[1] && inodes.has(match[1])) return true;
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return false;
}
