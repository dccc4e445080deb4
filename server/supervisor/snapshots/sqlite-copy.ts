import Database from "better-sqlite3";
import { closeSync, fsyncSync, openSync, readSync } from "node:fs";

const HEADER = Buffer.from("SQLite format 3\0", "latin1");

/** What the sqlite hook did to one database. */
export interface SqliteCopy {
  /** PRAGMA wal_checkpoint(TRUNCATE): busy, WAL frames, frames checkpointed. */
  readonly checkpoint: string;
  /** PRAGMA integrity_check on the copy: "ok", or its first findings. */
  readonly integrity: string;
}

/** Whether a file is an SQLite database: its header says so (a WAL or journal's does not). */
export function isSqliteDatabase(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return false;
  }
  try {
    const header = Buffer.alloc(HEADER.length);
    return readSync(fd, header, 0, header.length, 0) === header.length && header.equals(HEADER);
  } finally {
    closeSync(fd);
  }
}

/**
 * A consistent copy of a live database, however its writers go on: the WAL is checkpointed into
 * the file (TRUNCATE, so it is empty again) and the file synced, then VACUUM INTO writes the
 * database as one read transaction sees it, so every row committed before it began is there; a
 * byte copy would tear when a writer's checkpoint ran during it. The copy is checked with
 * integrity_check.
 */
export function copySqlite(database: string, copy: string): SqliteCopy {
  const db = new Database(database, { fileMustExist: true, timeout: 10_000 });
  let checkpoint: string;
  try {
    const row = db.pragma("wal_checkpoint(TRUNCATE)", { simple: false }) as { busy: number; log: number; checkpointed: number }[];
    const result = row[0];
    checkpoint = result ? `busy=${result.busy} log=${result.log} checkpointed=${result.checkpointed}` : "not in WAL mode";
    syncFile(database);
    db.prepare("VACUUM INTO ?").run(copy);
  } finally {
    db.close();
  }
  return { checkpoint, integrity: integrityOf(copy) };
}

function integrityOf(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma("integrity_check", { simple: false }) as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).slice(0, 5).join("; ") || "no answer";
  } finally {
    db.close();
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
