import { open } from "node:fs/promises";
import { isIPv4 } from "node:net";
import { endianness } from "node:os";

/** Both ends of a TCP connection as the server sees it (a net.Socket or grpc-js's ConnectionInfo). */
export interface TcpEnds {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** A table file's lines, a read's worth at a time; none when it cannot be read. */
export async function* linesOf(file: string): AsyncGenerator<readonly string[]> {
  const handle = await open(file).catch(() => undefined);
  if (!handle) return;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    let carry = "";
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const lines = (carry + buffer.toString("latin1", 0, bytesRead)).split("\n");
      carry = lines.pop() ?? "";
      yield lines;
    }
    if (carry !== "") yield [carry];
  } finally {
    await handle.close();
  }
}

/** The client's row as it is looked for: its two ends in `canonicalAddress` form, and its port as the table prints it. */
export interface ClientRow {
  /** The client's end: the server's remote. */
  readonly theirs: string;
  readonly theirPort: number;
  /** The server's end. */
  readonly ours: string;
  readonly ourPort: number;
  readonly mention: string;
}

/** What to look for to find the client of `ends`; undefined when a connection already gone left no address. */
export function clientRow(ends: TcpEnds): ClientRow | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = ends;
  if (localAddress === undefined || remoteAddress === undefined || localPort === undefined || remotePort === undefined) return undefined;
  const mention = `:${remotePort.toString(16).toUpperCase().padStart(4, "0")} `;
  return { theirs: canonicalAddress(remoteAddress), theirPort: remotePort, ours: canonicalAddress(localAddress), ourPort: localPort, mention };
}

/** The uid of the client's row, if one of `lines` is it. */
export function ownerAmong(lines: readonly string[], wanted: ClientRow): number | undefined {
  // Ports first, as text: only the few rows with the client's port are split.
  for (const row of rawRows(lines, wanted.mention)) {
    if (row.localPort !== wanted.theirPort || row.remotePort !== wanted.ourPort || row.state === TIME_WAIT) continue;
    if (canonicalAddress(kernelAddress(row.localHex)) === wanted.theirs && canonicalAddress(kernelAddress(row.remoteHex)) === wanted.ours) return row.uid;
  }
  return undefined;
}

/** One row of /proc/net/tcp{,6}: a socket's two ends, its state, and the uid owning it. */
export interface SocketRow {
  /** In `canonicalAddress` form. */
  readonly local: string;
  readonly localPort: number;
  readonly remote: string;
  readonly remotePort: number;
  readonly state: number;
  readonly uid: number;
}

/** A TIME_WAIT row is no socket of anyone's any more; the kernel shows it as uid 0. */
const TIME_WAIT = 6;

/** The rows of one table. */
export function parseSocketTable(text: string): SocketRow[] {
  return [...rawRows(text.split("\n").slice(1))].map(({ localHex, remoteHex, ...row }) => ({
    ...row,
    local: canonicalAddress(kernelAddress(localHex)),
    remote: canonicalAddress(kernelAddress(remoteHex)),
  }));
}

interface RawRow {
  readonly localHex: string;
  readonly localPort: number;
  readonly remoteHex: string;
  readonly remotePort: number;
  readonly state: number;
  readonly uid: number;
}

function* rawRows(lines: readonly string[], mention = ""): Generator<RawRow> {
  for (const line of lines) {
    if (!line.includes(mention)) continue;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
    const fields = line.trim().split(/\s+/);
    const [local, remote, state, uid] = [fields[1], fields[2], fields[3], fields[7]];
    if (local === undefined || remote === undefined || state === undefined || uid === undefined) continue;
    const [localHex = "", localPort = ""] = local.split(":");
    const [remoteHex = "", remotePort = ""] = remote.split(":");
    yield { localHex, localPort: parseInt(localPort, 16), remoteHex, remotePort: parseInt(remotePort, 16), state: parseInt(state, 16), uid: Number(uid) };
  }
}

/**
 * An address as the kernel prints it: 32-bit words in hex, each in the machine's byte order
 * (127.0.0.1 is `0100007F` on x86), one word for IPv4, four for IPv6.
 */
function kernelAddress(hex: string): string {
  const bytes = Buffer.alloc(hex.length / 2);
  for (let word = 0; word * 8 < hex.length; word++) {
    const value = parseInt(hex.slice(word * 8, word * 8 + 8), 16);
    if (endianness() === "LE") bytes.writeUInt32LE(value, word * 4);
    else bytes.writeUInt32BE(value, word * 4);
  }
  if (bytes.length === 4) return [...bytes].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(":");
}

/**
 * One spelling per address, so that an IPv4 client seen by a dual-stack server
 * (`::ffff:127.0.0.1`) matches its IPv4 row: IPv4 as its mapped IPv6 form, IPv6 as the URL
 * standard writes it.
 */
export function canonicalAddress(address: string): string {
  const v6 = isIPv4(address) ? `::ffff:${address}` : address;
  try {
    return new URL(`http://[${v6}]/`).hostname;
  } catch {
    return address;
  }
}

export function isLoopbackAddress(address: string): boolean {
  const canonical = canonicalAddress(address);
  return canonical === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}
