import { lchownSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The uid and gid a root daemon runs services as when not told otherwise (distroless' "nonroot"). */
export const DEFAULT_SERVICE_ID = 65532;

/**
 * Who services run as. A daemon run by root gives them a dedicated unprivileged uid (never root:
 * a user namespace mapping root back to root would let a service read root's files in the
 * system directories); any other daemon runs them as its own user, inside a user namespace.
 */
export interface ServiceIdentity {
  readonly uid: number;
  readonly gid: number;
  /** The daemon is root and services switch to `uid`: state they write must be theirs. */
  readonly dropsRoot: boolean;
}

export function serviceIdentity(configured: number = DEFAULT_SERVICE_ID): ServiceIdentity {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? uid, dropsRoot: false };
  if (configured === 0) throw new Error("services cannot run as root: choose another --service-uid");
  return { uid: configured, gid: configured, dropsRoot: true };
}

/** spawn's options that make a child run as the service's user (nothing when that is the daemon's). */
export function spawnAs(identity: ServiceIdentity): { uid?: number; gid?: number } {
  return identity.dropsRoot ? { uid: identity.uid, gid: identity.gid } : {};
}

/**
 * Hands a writable mount's directory to the service's user: a root daemon made it, and the
 * service must write it. Walked only when its top is not the service's yet, so a large volume is
 * walked once; links are changed themselves, never followed.
 */
export function giveToService(path: string, identity: ServiceIdentity): void {
  if (!identity.dropsRoot) return;
  const top = lstatSync(path, { throwIfNoEntry: false });
  if (!top || (top.uid === identity.uid && top.gid === identity.gid)) return;
  chownTree(path, identity);
}

function chownTree(path: string, identity: ServiceIdentity): void {
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (!info) return;
  lchownSync(path, identity.uid, identity.gid);
  if (info.isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), identity);
}
