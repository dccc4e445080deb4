import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** `st` of a socket in LISTEN, as /proc/net/tcp writes it (include/net/tcp_states.h). */
const LISTEN = "0A";

/**
 * The ports of the sockets in LISTEN in one /proc/net/tcp or tcp6 table. Each row after the
 * header reads `sl local_address rem_address st ...`, the local address as hex `ADDR:PORT`.
 */
export function parseListeningPorts(table: string): number[] {
  const ports: number[] = [];
  for (const row of table.split("\n").slice(1)) {
    const [, local, , state] = row.trim().split(/\s+/);
    if (state !== LISTEN || local === undefined) continue;
    const port = Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
    if (Number.isInteger(port) && port > 0) ports.push(port);
  }
  return ports;
}

/**
 * The TCP ports listening in this network namespace, each once and ascending. A table that is not
 * there (a kernel without IPv6) lists nothing; any other failure to read one is the caller's.
 */
export async function listeningPorts(procNet = "/proc/net"): Promise<number[]> {
  const tables = await Promise.all(["tcp", "tcp6"].map((name) => readTable(join(procNet, name))));
  return [...new Set(tables.flatMap(parseListeningPorts))].sort((a, b) => a - b);
}

async function readTable(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
}
