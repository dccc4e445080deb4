import { ownerOnlyFile } from "../server/owner-only";
import Database from "better-sqlite3";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runDir } from "./config";

/** Another daemon holds the home: nothing may be touched. */
export class HomeLockedError extends Error {
  constructor(
    readonly home: string,
    readonly pid: number | undefined,
  ) {
    super(
      `another ghostd${pid === undefined ? "" : ` (pid ${pid})`} is running on ${home}; stop it first, or give this one a home of its own with --home`,
    );
  }
}

export interface HomeLock {
  release(): void;
}

/**
 * Takes the home for this process, or throws HomeLockedError naming the daemon that has it. The
 * lock is SQLite's exclusive lock on `run/daemon.lock` (a POSIX record lock underneath): the
 * kernel drops it when the process ends, however it ends, so a crashed daemon never leaves a
 * stale lock behind, and two daemons starting at once cannot both get it. The run directory must
 * exist.
 */
export function lockHome(home: string): HomeLock {
  ownerOnlyFile(join(runDir(home), "daemon.lock"));
  const db = new Database(join(runDir(home), "daemon.lock"), { timeout: 0 });
  try {
    db.pragma("journal_mode = MEMORY");
    db.pragma("locking_mode = EXCLUSIVE");
    // In exclusive locking mode the lock a write transaction takes is kept after it commits.
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; COMMIT");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") throw new HomeLockedError(home, holderPid(home));
    throw err;
  }
  // The lock file cannot be read while it is held, so the holder's pid is written beside it.
  writeHolderPid(home);
  return {
    release: () => {
      rmSync(pidPath(home), { force: true });
      db.close();
    },
  };
}

function pidPath(home: string): string {
  return join(runDir(home), "daemon.pid");
}

function writeHolderPid(home: string): void {
  const temp = `${pidPath(home)}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  renameSync(temp, pidPath(home));
}

function holderPid(home: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidPath(home), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
