import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import type { ChunkThreads } from "./workers/pool";

/** One thing under a state tree, as a snapshot records it. Paths are relative, with "/". */
export interface TreeEntry {
  readonly path: string;
  readonly type: "dir" | "file" | "symlink";
  /** Permission bits (with setuid, setgid and sticky). */
  readonly mode: number;
  /** Nanoseconds since the epoch, as a decimal string: a double cannot hold them. */
  readonly mtimeNs: string;
  readonly size: number;
  /** Device and inode, so an unchanged file is known without reading it. */
  readonly dev: string;
  readonly ino: string;
  /** A symbolic link's target, as written: never followed. */
  readonly target?: string;
}

export interface Tree {
  /** Sorted by path, parents before children. */
  readonly entries: TreeEntry[];
  /** Sockets, FIFOs and devices: nothing a snapshot can hold; reported, not saved. */
  readonly skipped: string[];
}

/**
 * Every directory, file and symbolic link under `root` (not `root` itself), in path order (see
 * sortedByPath), never following a link; what was removed since its directory was read is left
 * out. Depth first, each directory's names sorted as it is read, so the result needs no sort of
 * its own. Synchronous and one directory at a time: it runs in a chunk thread (walkInThread),
 * where blocking costs no one, and that is about three times faster than thousands of lstat
 * calls in flight at once, with a fraction of their garbage.
 */
export function walkTreeSync(root: string, excluded: ReadonlySet<string> = new Set()): Tree {
  const tree: Tree = { entries: [], skipped: [] };
  walkDirectory(root, "", excluded, tree);
  return tree;
}

function walkDirectory(root: string, relative: string, excluded: ReadonlySet<string>, tree: Tree): void {
  for (const name of sortedNames(readdirSync(join(root, relative)))) {
    const path = relative ? `${relative}/${name}` : name;
    if (excluded.has(path)) continue;
    const entry = entrySync(root, path);
    if (entry === "gone") continue;
    if (!entry) {
      tree.skipped.push(path);
      continue;
    }
    tree.entries.push(entry);
    if (entry.type === "dir") walkDirectory(root, path, excluded, tree);
  }
}

/** Names in UTF-8 byte order: string order, but for names with characters beyond U+FFFF. */
function sortedNames(names: string[]): string[] {
  return names.some((n) => SURROGATE.test(n)) ? names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))) : names.sort();
}

/** The entry, undefined for what a snapshot cannot hold, "gone" for what was removed since its directory was read. */
function entrySync(root: string, path: string): TreeEntry | undefined | "gone" {
  const full = join(root, path);
  let stats: BigIntStats;
  try {
    stats = lstatSync(full, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw err;
  }
  const entry = fromStats(path, stats);
  return entry?.type === "symlink" ? { ...entry, target: readlinkSync(full) } : entry;
}

function fromStats(path: string, stats: BigIntStats): TreeEntry | undefined {
  const type = stats.isDirectory() ? "dir" : stats.isFile() ? "file" : stats.isSymbolicLink() ? "symlink" : undefined;
  if (!type) return undefined;
  return { path, type, mode: Number(stats.mode & 0o7777n), mtimeNs: stats.mtimeNs.toString(), size: type === "file" ? Number(stats.size) : 0, dev: stats.dev.toString(), ino: stats.ino.toString() };
}

/**
 * In byte order of the UTF-8 paths, component by component (a directory's entries right after
 * it): the same order on every machine. Each path's key is made once; keys compare as strings,
 * which is UTF-8 byte order unless a key holds a surrogate pair (a character beyond U+FFFF),
 * and only those pay for a byte comparison. Comparing bytes for every pair cost hundreds of ms
 * on 20,000 files, most of an incremental save's walk.
 */
export function sortedByPath<T extends { readonly path: string }>(items: readonly T[]): T[] {
  const keyed = items.map((item) => sortKey(item));
  keyed.sort(compareKeys);
  return keyed.map((k) => k.item);
}

interface SortKey<T> {
  readonly item: T;
  readonly key: string;
  /** The key's UTF-8 bytes, only where string order is not byte order. */
  readonly bytes: Buffer | undefined;
}

const SURROGATE = /[\uD800-\uDFFF]/;

function sortKey<T extends { readonly path: string }>(item: T): SortKey<T> {
  const key = item.path.replaceAll("/", "\0");
  return { item, key, bytes: SURROGATE.test(key) ? Buffer.from(key) : undefined };
}

function compareKeys(a: SortKey<unknown>, b: SortKey<unknown>): number {
  if (a.bytes || b.bytes) return Buffer.compare(a.bytes ?? Buffer.from(a.key), b.bytes ?? Buffer.from(b.key));
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** A tree walked by a chunk thread: a large tree's walk holds no one's event loop. */
export async function walkInThread(threads: ChunkThreads, root: string, excluded: ReadonlySet<string> = new Set()): Promise<Tree> {
  const { outcomes } = await threads.run({ kind: "walk", root, excluded: [...excluded] });
  const [outcome] = outcomes;
  if ("failed" in outcome) throw new Error(`the tree under ${root} cannot be read: ${outcome.failed.message}`);
  return outcome.ok;
}
