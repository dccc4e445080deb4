import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";

/** A path ghostd keeps private that is looser than that and not its to tighten. */
export class NotOwnerOnlyError extends Error {}

/**
 * A directory only its owner may enter: made so, or tightened to 0700 when it exists looser (a
 * home made by hand with 0755). The daemon's state, sockets and logs live in such directories.
 */
export function ownerOnlyDirectory(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  tighten(path, 0o700);
}

/**
 * A file only its owner may read and write: created empty so, or tightened to 0600. SQLite
 * creates a database's -wal and -shm files with the database's own mode, so this covers them.
 */
export function ownerOnlyFile(path: string): void {
  closeSync(openSync(path, "a", 0o600));
  tighten(path, 0o600);
}

function tighten(path: string, mode: number): void {
  const info = statSync(path);
  if ((info.mode & 0o777) === mode) return;
  // A sticky directory is a shared one (/tmp): taking it over would break everyone else's use.
  if (info.isDirectory() && (info.mode & 0o1000) !== 0) {
    throw new NotOwnerOnlyError(`${path} is a shared directory (sticky, mode ${(info.mode & 0o7777).toString(8)}); ghostd keeps its sockets and state in a directory of its own: choose one inside it`);
  }
  try {
    chmodSync(path, mode);
  } catch (err) {
    const uid = process.getuid?.();
    throw new NotOwnerOnlyError(
      `${path} has mode ${(info.mode & 0o777).toString(8).padStart(4, "0")} and cannot be made owner-only (${mode.toString(8).padStart(4, "0")}): ${(err as Error).message}; ` +
        `it belongs to uid ${info.uid}, ghostd runs as ${uid ?? "?"}; fix its mode or owner, or choose another --home`,
    );
  }
}
