import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

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

/** Every directory, file and symbolic link under `root` (not `root` itself), never following a link. */
export async function walkTree(root: string, exclude: (path: string) => boolean = () => false): Promise<Tree> {
  const entries: TreeEntry[] = [];
  const skipped: string[] = [];
  await walkDirectory(root, "", entries, skipped, exclude);
  entries.sort((a, b) => comparePaths(a.path, b.path));
  return { entries, skipped: skipped.sort() };
}

async function walkDirectory(root: string, relative: string, entries: TreeEntry[], skipped: string[], exclude: (path: string) => boolean): Promise<void> {
  const names = await readdir(join(root, relative));
  await Promise.all(
    names.map(async (name) => {
      const path = relative ? `${relative}/${name}` : name;
      if (exclude(path)) return;
      const entry = await entryOf(root, path);
      if (entry === "gone") return;
      if (!entry) return skipped.push(path);
      entries.push(entry);
      if (entry.type === "dir") await walkDirectory(root, path, entries, skipped, exclude);
    }),
  );
}

/** The entry, undefined for what a snapshot cannot hold, "gone" for what was removed since its directory was read. */
/**
 * The same walk, synchronous and one directory at a time: for a chunk thread, where blocking
 * costs no one, and where it is about three times faster than thousands of lstat calls in flight
 * at once (with a fraction of their garbage).
 */
export function walkTreeSync(root: string, excluded: ReadonlySet<string> = new Set()): Tree {
  const entries: TreeEntry[] = [];
  const skipped: string[] = [];
  const pending = [""];
  for (let relative = pending.pop(); relative !== undefined; relative = pending.pop()) {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      if (excluded.has(path)) continue;
      const entry = entrySync(root, path);
      if (entry === "gone") continue;
      if (!entry) {
        skipped.push(path);
        continue;
      }
      entries.push(entry);
      if (entry.type === "dir") pending.push(path);
    }
  }
  entries.sort((a, b) => comparePaths(a.path, b.path));
  return { entries, skipped: skipped.sort() };
}

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

async function entryOf(root: string, path: string): Promise<TreeEntry | undefined | "gone"> {
  const full = join(root, path);
  const stats = await lstat(full, { bigint: true }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  });
  if (!stats) return "gone";
  const entry = fromStats(path, stats);
  return entry?.type === "symlink" ? { ...entry, target: await readlink(full) } : entry;
}

/** Byte order of the UTF-8 paths, component by component: the same order on every machine. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a.replaceAll("/", "\0")), Buffer.from(b.replaceAll("/", "\0")));
}
