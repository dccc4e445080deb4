import { readFile } from "node:fs/promises";
import { isIPv4 } from "node:net";
import { endianness } from "node:os";

/**
 * Who may call over loopback TCP. Any local user can connect to 127.0.0.1, so loopback alone
 * does not say the caller is the daemon's user: the kernel's socket table does.
 */
export interface PeerPolicy {
  /** The user clients must run as: the daemon's own effective uid. */
  readonly uid: number;
  /** Whether root's clients are served too (root can read the daemon's files anyway). */
  readonly allowRoot: boolean;
}

export function daemonPeerPolicy(allowRoot: boolean): PeerPolicy {
  return { uid: process.geteuid?.() ?? process.getuid?.() ?? -1, allowRoot };
}

/** Both ends of a TCP connection as the server sees it (a net.Socket or grpc-js's ConnectionInfo). */
export interface TcpEnds {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

export type PeerVerdict = { readonly allowed: true } | { readonly allowed: false; readonly message: string };

/** The kernel's TCP socket tables, IPv4 and IPv6, as text. */
export type SocketTables = () => Promise<readonly string[]>;

const PROC_TABLES: SocketTables = () => Promise.all(["/proc/net/tcp", "/proc/net/tcp6"].map((file) => readFile(file, "utf8").catch(() => "")));

/**
 * Whether the client at the far end of `ends` may call. A client on this machine is found in the
 * socket table and must run as the policy's user (or root, when allowed). A peer that is not on
 * this machine has no row: it is served, since only `--allow-remote` lets one connect at all.
 * A loopback peer without a row, or a connection already gone, is refused: who it is cannot be told.
 */
export async function judgePeer(policy: PeerPolicy, ends: TcpEnds, tables: SocketTables = PROC_TABLES): Promise<PeerVerdict> {
  // A socket's addresses vanish when it closes: taken now, before the table is read.
  const { localAddress, localPort, remoteAddress, remotePort } = ends;
  const owner = socketOwner(await tables(), { localAddress, localPort, remoteAddress, remotePort });
  if (owner === undefined) {
    if (remoteAddress !== undefined && !isLoopbackAddress(remoteAddress)) return { allowed: true };
    return { allowed: false, message: "this API cannot tell which user the client runs as, so it refuses it" };
  }
  if (owner === policy.uid || (owner === 0 && policy.allowRoot)) return { allowed: true };
  const served = policy.allowRoot && policy.uid !== 0 ? `uid ${policy.uid} (the daemon's user) and root` : `uid ${policy.uid} (the daemon's user)`;
  return { allowed: false, message: `this API serves only ${served}; the client runs as uid ${owner}` };
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

/**
 * The uid owning the client's socket: the row whose local end is the client's (our remote) and
 * whose remote end is ours.
 */
export function socketOwner(tables: readonly string[], ends: TcpEnds): number | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = ends;
  if (localAddress === undefined || remoteAddress === undefined || localPort === undefined || remotePort === undefined) return undefined;
  const ours = canonicalAddress(localAddress);
  const theirs = canonicalAddress(remoteAddress);
  for (const table of tables) {
    // Ports first, as text: a busy machine has thousands of rows (every TIME_WAIT of every
    // client), and only the few with the client's port are split, addresses decoded for fewer.
    for (const row of rawRows(table, `:${remotePort.toString(16).toUpperCase().padStart(4, "0")} `)) {
      if (row.localPort !== remotePort || row.remotePort !== localPort || row.state === TIME_WAIT) continue;
      if (canonicalAddress(kernelAddress(row.localHex)) === theirs && canonicalAddress(kernelAddress(row.remoteHex)) === ours) return row.uid;
    }
  }
  return undefined;
}

/** The rows of one table. */
export function parseSocketTable(text: string): SocketRow[] {
  return [...rawRows(text)].map(({ localHex, remoteHex, ...row }) => ({
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

function* rawRows(text: string, mention = ""): Generator<RawRow> {
  for (const line of text.split("\n").slice(1)) {
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
