import { SocketOwners } from "./socket-owners";
import { isLoopbackAddress, type TcpEnds } from "./socket-table";

export type { TcpEnds } from "./socket-table";

/** This machine's sockets, shared by every listener so that their lookups share scans. */
const MACHINE = new SocketOwners();

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

export type PeerVerdict = { readonly allowed: true } | { readonly allowed: false; readonly message: string };

/**
 * Whether the client at the far end of `ends` may call. A client on this machine is found in the
 * socket table and must run as the policy's user (or root, when allowed). A peer that is not on
 * this machine has no row: it is served, since only `--allow-remote` lets one connect at all.
 * A loopback peer without a row, or a connection already gone, is refused: who it is cannot be told.
 */
export async function judgePeer(policy: PeerPolicy, ends: TcpEnds, owners: SocketOwners = MACHINE): Promise<PeerVerdict> {
  // Read before the await: a socket's addresses vanish when it closes.
  const { remoteAddress } = ends;
  const owner = await owners.owner(ends);
  if (owner === undefined) {
    if (remoteAddress !== undefined && !isLoopbackAddress(remoteAddress)) return { allowed: true };
    return { allowed: false, message: "this API cannot tell which user the client runs as, so it refuses it" };
  }
  if (owner === policy.uid || (owner === 0 && policy.allowRoot)) return { allowed: true };
  const served = policy.allowRoot && policy.uid !== 0 ? `uid ${policy.uid} (the daemon's user) and root` : `uid ${policy.uid} (the daemon's user)`;
  return { allowed: false, message: `this API serves only ${served}; the client runs as uid ${owner}` };
}
