import type { BigIntStats } from "node:fs";
import { lstat, opendir } from "node:fs/promises";
import { join } from "node:path";
import { entryType, type EntryType } from "../fs-entries";

/**
 * What a watch remembers of an entry, to tell from a later lstat what happened to it: the inode
 * says whether it is still the same entry (a rename keeps it), size and mtime whether its content
 * changed, mode, owner and ctime whether only its attributes did. Nanosecond times, so two writes
 * in one millisecond still differ.
 */
export interface Known {
  readonly type: EntryType;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export function knownOf(info: BigIntStats): Known {
  return {
    type: entryType(info),
    dev: info.dev,
    ino: info.ino,
    mode: Number(info.mode & 0o7777n),
    uid: Number(info.uid),
    gid: Number(info.gid),
    size: info.size,
    mtimeNs: info.mtimeNs,
    ctimeNs: info.ctimeNs,
  };
}

/** The same entry (inode), whatever its name. */
export function identity(entry: { readonly dev: bigint; readonly ino: bigint }): string {
  return `${entry.dev}:${entry.ino}`;
}

/** An entry now; undefined when there is none. Other failures (EACCES) throw: the caller keeps what it knew. */
export async function observe(path: string): Promise<Known | undefined> {
  try {
    return knownOf(await lstat(path, { bigint: true }));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}

/**
 * A directory's entries sorted by name; past `room` entries, the error `onFull` makes. A directory
 * gone or unreadable has none: the event that removed it comes from its parent.
 */
export async function scan(dir: string, room: number, onFull: () => Error): Promise<[string, Known][]> {
  const names = await readNames(dir, room);
  if (names === undefined) throw onFull();
  names.sort();
  const entries = await Promise.all(names.map(async (name) => [name, await observe(join(dir, name)).catch(() => undefined)] as const));
  return entries.filter((entry): entry is [string, Known] => entry[1] !== undefined);
}

/** Names read one by one, so a huge directory stops at the bound instead of filling memory; undefined past it. */
async function readNames(dir: string, room: number): Promise<string[] | undefined> {
  const names: string[] = [];
  try {
    for await (const dirent of await opendir(dir)) {
      if (names.length >= room) return undefined;
      names.push(dirent.name);
    }
  } catch {
    // Gone or unreadable part way: what was read is all there is to know.
  }
  return names;
}
