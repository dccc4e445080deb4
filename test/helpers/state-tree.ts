import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** One path of a tree as a test compares it: type, mode, content digest or link target, and mtime to the microsecond. */
export interface ListedEntry {
  readonly type: "dir" | "file" | "symlink";
  readonly mode: string;
  readonly content: string;
  readonly mtimeUs: number;
}

/**
 * Every path under `root` (sorted), never following a link. Directory mtimes are left out with
 * `withDirectoryTimes: false`: listing a directory does not change it, but the tests' own writes do.
 */
export function listTree(root: string, withTimes = true): Record<string, ListedEntry> {
  const out: Record<string, ListedEntry> = {};
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const full = join(root, path);
      const stats = lstatSync(full, { bigint: true });
      const type = stats.isDirectory() ? "dir" : stats.isSymbolicLink() ? "symlink" : "file";
      const content = type === "file" ? createHash("sha256").update(readFileSync(full)).digest("hex") : type === "symlink" ? readlinkSync(full) : "";
      const mtimeUs = withTimes ? Number(stats.mtimeNs / 1000n) : 0;
      out[path] = { type, mode: (Number(stats.mode) & 0o7777).toString(8), content, mtimeUs };
      if (type === "dir") walk(path);
    }
  };
  walk("");
  return out;
}
