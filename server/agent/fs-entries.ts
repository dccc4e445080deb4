import type { Stats } from "node:fs";
import { lstat, opendir, readFile, readlink, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { DomainError } from "../errors";
import { guestPath } from "./paths";
import { agentError, fsError } from "./reasons";

export type EntryType = "file" | "directory" | "symlink" | "other";

/** One file system entry as lstat sees it: a symlink is itself, never what it points to. */
export interface EntryInfo {
  readonly name: string;
  readonly path: string;
  readonly type: EntryType;
  readonly size: number;
  /** The permission bits with setuid, setgid and sticky: 0o644, 0o4755. */
  readonly mode: number;
  /** As `ls -l` shows them: "-rw-r--r--", "drwxr-xr-x", "lrwxrwxrwx". */
  readonly permissions: string;
  /** The account's name, or its number where /etc/passwd (/etc/group) has none. */
  readonly owner: string;
  readonly group: string;
  readonly modifiedAt: Date;
  /** A symlink's target as written in the link, not resolved. */
  readonly symlinkTarget?: string;
}

/**
 * The most entries one listing returns. A listing past it fails with too_many_entries instead of
 * being cut short, since a client could not tell a cut listing from a whole one.
 */
export const MAX_LISTED_ENTRIES = 10_000;

/** What both Stats and BigIntStats answer. */
interface Kinds {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export function entryType(info: Kinds): EntryType {
  if (info.isSymbolicLink()) return "symlink";
  if (info.isDirectory()) return "directory";
  return info.isFile() ? "file" : "other";
}

/** An entry, not followed if it is a symlink. */
export async function statEntry(path: string, home: string): Promise<EntryInfo> {
  const full = guestPath(path, home);
  const names = await accountNames();
  try {
    return await describe(full, names);
  } catch (err) {
    throw fsError(err, full);
  }
}

/**
 * A directory's entries down to `depth` levels (1: its children), sorted by path. A symlink to a
 * directory is listed but not entered, so a link cycle cannot loop and nothing outside the tree
 * shows; `path` itself may be a symlink to the directory to list. A subdirectory that cannot be
 * read, or an entry gone while listing, is left out, as `find` goes on past them.
 */
export async function listEntries(path: string, depth: number, home: string, limit = MAX_LISTED_ENTRIES): Promise<EntryInfo[]> {
  if (!Number.isSafeInteger(depth) || depth < 1) throw agentError("invalid_argument", `depth is how many levels to list, 1 or more; got ${depth}`);
  const root = guestPath(path, home);
  await requireDirectory(root);
  const listing: Listing = { names: await accountNames(), entries: [], limit, depth, root };
  let level = [root];
  for (let reached = 1; reached <= depth && level.length > 0; reached++) {
    const next: string[] = [];
    for (const dir of level) next.push(...(await listChildren(dir, listing, dir === root)));
    level = next;
  }
  return listing.entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

interface Listing {
  readonly names: AccountNames;
  readonly entries: EntryInfo[];
  readonly limit: number;
  readonly depth: number;
  readonly root: string;
}

/** A directory, symlinks followed: path_not_found, not_a_directory and the like otherwise. */
export async function requireDirectory(dir: string): Promise<void> {
  let info: Stats;
  try {
    info = await stat(dir);
  } catch (err) {
    throw fsError(err, dir);
  }
  if (!info.isDirectory()) throw agentError("not_a_directory", `${dir} is not a directory`);
}

/** Adds a directory's entries to the listing; returns its subdirectories (not symlinks to them). */
async function listChildren(dir: string, listing: Listing, isRoot: boolean): Promise<string[]> {
  let names: string[];
  try {
    names = await readNames(dir, listing);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (isRoot) throw fsError(err, dir);
    // A subdirectory that cannot be read, or one gone since its parent was read.
    return [];
  }
  const described = await Promise.all(names.map((name) => describe(join(dir, name), listing.names).catch(() => undefined)));
  const subdirectories: string[] = [];
  for (const entry of described) {
    if (!entry) continue;
    listing.entries.push(entry);
    if (entry.type === "directory") subdirectories.push(entry.path);
  }
  return subdirectories;
}

/** A directory's names, read one by one so a huge directory fails at the bound, not after filling memory. */
async function readNames(dir: string, listing: Listing): Promise<string[]> {
  const names: string[] = [];
  const room = listing.limit - listing.entries.length;
  for await (const dirent of await opendir(dir)) {
    if (names.length >= room) {
      throw agentError("too_many_entries", `${listing.root} holds more than ${listing.limit} entries within ${listing.depth} level(s); list a smaller depth or a subdirectory`);
    }
    names.push(dirent.name);
  }
  return names;
}

async function describe(path: string, names: AccountNames): Promise<EntryInfo> {
  const info = await lstat(path);
  const type = entryType(info);
  const entry: EntryInfo = {
    name: basename(path),
    path,
    type,
    size: info.size,
    mode: info.mode & 0o7777,
    permissions: permissionString(info.mode, type),
    owner: names.users.get(info.uid) ?? String(info.uid),
    group: names.groups.get(info.gid) ?? String(info.gid),
    modifiedAt: new Date(info.mtimeMs),
  };
  if (type !== "symlink") return entry;
  // A link removed between the lstat and the readlink is still reported, without its target.
  const symlinkTarget = await readlink(path).catch(() => undefined);
  return symlinkTarget === undefined ? entry : { ...entry, symlinkTarget };
}

/** The S_IFMT bits of the kinds `other` covers, for their `ls` letter. */
const OTHER_KINDS: readonly (readonly [number, string])[] = [
  [0o010000, "p"],
  [0o140000, "s"],
  [0o020000, "c"],
  [0o060000, "b"],
];

/** `ls -l`'s ten letters: the kind, then owner, group and others, setuid/setgid/sticky as s/S and t/T. */
export function permissionString(mode: number, type: EntryType): string {
  const kind = type === "directory" ? "d" : type === "symlink" ? "l" : type === "file" ? "-" : (OTHER_KINDS.find(([bits]) => (mode & 0o170000) === bits)?.[1] ?? "?");
  return kind + triad(mode, 6, mode & 0o4000, "s") + triad(mode, 3, mode & 0o2000, "s") + triad(mode, 0, mode & 0o1000, "t");
}

function triad(mode: number, shift: number, special: number, letter: string): string {
  const read = mode & (0o4 << shift) ? "r" : "-";
  const write = mode & (0o2 << shift) ? "w" : "-";
  const exec = (mode & (0o1 << shift)) !== 0;
  if (special) return read + write + (exec ? letter : letter.toUpperCase());
  return read + write + (exec ? "x" : "-");
}

interface AccountNames {
  readonly users: ReadonlyMap<number, string>;
  readonly groups: ReadonlyMap<number, string>;
}

/**
 * Account names from /etc/passwd and /etc/group, read once per call: the guest's accounts may
 * change while the agent runs, and the files are small. Accounts known only through NSS (LDAP)
 * show as numbers.
 */
async function accountNames(): Promise<AccountNames> {
  const [users, groups] = await Promise.all([idNames("/etc/passwd"), idNames("/etc/group")]);
  return { users, groups };
}

/** `name:x:id:...` lines as id → name; the first name for an id wins, as getpwuid's does. */
async function idNames(file: string): Promise<Map<number, string>> {
  const text = await readFile(file, "utf8").catch(() => "");
  const names = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [name, , id] = line.split(":");
    const number = Number(id);
    if (name && id && Number.isSafeInteger(number) && !names.has(number)) names.set(number, name);
  }
  return names;
}
