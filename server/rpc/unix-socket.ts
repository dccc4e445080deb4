import { chmod, lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";
import { ownerOnlyDirectory } from "../owner-only";

export class SocketInUseError extends Error {}

/**
 * Makes a Unix socket path ready to listen on: its directory is owner-only (made so, or tightened
 * from a looser mode before the socket exists, so no other user can reach it even in the moment
 * before the socket's own mode is set), a stale socket left by a crashed run is removed, and a
 * live one, another daemon's, is an error rather than something to steal.
 */
export async function claimUnixSocket(path: string): Promise<void> {
  ownerOnlyDirectory(dirname(path));
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!stat.isSocket()) throw new SocketInUseError(`${path} exists and is not a socket; refusing to replace it`);
  if (await answers(path)) throw new SocketInUseError(`${path} is already served by another process`);
  await unlink(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  });
}

/**
 * Owner-only access: connecting to a Unix socket needs write permission on it, so the kernel
 * refuses every other user at connect() (EACCES), whatever the directory's mode. Node has no
 * SO_PEERCRED to ask who connected; the mode is the check.
 */
export async function restrictUnixSocket(path: string): Promise<void> {
  await chmod(path, 0o600);
}

export async function releaseUnixSocket(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
