import { createCipheriv, createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** One thing under a tree as a test compares it: what a snapshot must give back. */
export interface TreeItem {
  readonly path: string;
  readonly type: "dir" | "file" | "symlink" | "other";
  /** Permission bits, with setuid, setgid and sticky. */
  readonly mode: number;
  readonly size: number;
  readonly mtimeNs: bigint;
  /** A file's content, as hex SHA-256. */
  readonly sha256?: string;
  /** A symbolic link's target, as written. */
  readonly target?: string;
  /** A file's device, inode, size, mtime and ctime: while these stay, its content has not changed. */
  readonly identity?: string;
}

/**
 * Every entry under `root` (not `root` itself), sorted by path, files hashed, links not followed.
 * A file of `previous` whose identity is the same (nothing but setting the clock back keeps a
 * ctime when a file is written) keeps its hash rather than being read again. Synchronous: for
 * thousands of small files, a promise per call costs more than the reading.
 */
export function fingerprintTree(root: string, previous: readonly TreeItem[] = []): TreeItem[] {
  const known = new Map(previous.filter((item) => item.identity).map((item) => [item.identity, item.sha256]));
  const items: TreeItem[] = [];
  const visit = (relative: string): void => {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      const item = itemOf(root, path, known);
      items.push(item);
      if (item.type === "dir") visit(path);
    }
  };
  visit("");
  return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function itemOf(root: string, path: string, known: ReadonlyMap<string | undefined, string | undefined>): TreeItem {
  const full = join(root, path);
  const stats = lstatSync(full, { bigint: true });
  const type = stats.isDirectory() ? "dir" : stats.isFile() ? "file" : stats.isSymbolicLink() ? "symlink" : "other";
  const base = { path, type, mode: Number(stats.mode & 0o7777n), size: type === "file" ? Number(stats.size) : 0, mtimeNs: stats.mtimeNs } as const;
  if (type === "file") {
    const identity = `${path}:${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
    return { ...base, identity, sha256: known.get(identity) ?? createHash("sha256").update(readFileSync(full)).digest("hex") };
  }
  if (type === "symlink") return { ...base, target: readlinkSync(full) };
  return base;
}

/**
 * How `actual` differs from `expected`, at most `limit` lines; none when they are the same tree.
 * Modification times may differ by `mtimeToleranceNs`: a restore sets them through seconds held
 * in a double, which keeps about a tenth of a microsecond of them, not every nanosecond.
 */
export function treeDifferences(actual: readonly TreeItem[], expected: readonly TreeItem[], mtimeToleranceNs: bigint, limit = 8): string[] {
  const found: string[] = [];
  const want = new Map(expected.map((item) => [item.path, item]));
  const have = new Map(actual.map((item) => [item.path, item]));
  for (const item of expected) if (!have.has(item.path)) found.push(`${item.path}: missing (a ${item.type} was expected)`);
  for (const item of actual) {
    const wanted = want.get(item.path);
    if (!wanted) found.push(`${item.path}: a ${item.type} that should not be there`);
    else found.push(...itemDifferences(item, wanted, mtimeToleranceNs));
  }
  return found.length > limit ? [...found.slice(0, limit), `... and ${found.length - limit} more`] : found;
}

function itemDifferences(actual: TreeItem, expected: TreeItem, mtimeToleranceNs: bigint): string[] {
  const found: string[] = [];
  const fields = ["type", "mode", "size", "sha256", "target"] as const;
  for (const field of fields) {
    if (actual[field] !== expected[field]) found.push(`${actual.path}: ${field} is ${show(actual[field])}, not ${show(expected[field])}`);
  }
  const drift = actual.mtimeNs - expected.mtimeNs;
  if (drift > mtimeToleranceNs || -drift > mtimeToleranceNs) found.push(`${actual.path}: mtime is ${actual.mtimeNs} ns, not ${expected.mtimeNs} ns`);
  return found;
}

function show(value: string | number | undefined): string {
  return typeof value === "number" ? value.toString(8) : String(value);
}

/**
 * Numbers in [0, 1) that depend only on `seed`: SHA-256 of the seed and a counter. A failing
 * run's seed gives the same draws again.
 */
export class SeededRandom {
  private counter = 0;

  constructor(readonly seed: number) {}

  next(): number {
    return createHash("sha256").update(`${this.seed}:${this.counter++}`).digest().readUInt32BE(0) / 2 ** 32;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** `length` bytes that look random (zstd gains nothing on them), the same for the same `label`. */
export function pseudoRandomBytes(label: string, length: number): Buffer {
  const key = createHash("sha256").update(label).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(length));
}


/** One path of a tree as a test compares it: type, mode, content digest or link target, and mtime to the microsecond. */
export interface ListedEntry {
  readonly type: TreeItem["type"];
  readonly mode: string;
  readonly content: string;
  readonly mtimeUs: number;
}

/**
 * fingerprintTree's items by path, in the form `assert.deepEqual` shows best: the mode in octal,
 * a file's digest or a link's target as `content`, the mtime to the microsecond (0 without
 * `withTimes`).
 */
export function listTree(root: string, withTimes = true): Record<string, ListedEntry> {
  return Object.fromEntries(
    fingerprintTree(root).map((item) => [item.path, { type: item.type, mode: item.mode.toString(8), content: item.sha256 ?? item.target ?? "", mtimeUs: withTimes ? Number(item.mtimeNs / 1000n) : 0 }]),
  );
}
