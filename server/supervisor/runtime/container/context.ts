import ignore from "@balena/dockerignore";
import { lstatSync, readdirSync, readFileSync, type Dirent } from "node:fs";
import { join, posix } from "node:path";
import { pipeline, type Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { pack } from "tar-fs";

/** Where a context says what of it is not sent: its root, as Docker's client and the Engine API read it. */
export const IGNORE_FILE = ".dockerignore";

/**
 * What of a build context the engine is sent, as Docker's client decides it: every file,
 * directory and symlink under `dir` (relative paths, sorted, parents first), less what
 * `.dockerignore` excludes (Docker's patterns: `*`, `?`, `**`, `!` exceptions with the last
 * match winning, a directory taking what is under it). The Dockerfile (a path relative to the
 * context) and `.dockerignore` go whatever it says: the engine needs them to build.
 */
export function contextEntries(dir: string, dockerfile = "Dockerfile"): string[] {
  const rules = readRules(dir);
  const matcher = ignore({ ignorecase: false }).add(rules);
  // Without an exception, nothing under an excluded directory can come back: it is not walked.
  const exceptions = rules.some((rule) => rule.startsWith("!"));
  const always = [IGNORE_FILE, posix.normalize(dockerfile)];
  const entries: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of sortedEntries(join(dir, relative))) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      const excluded = matcher.ignores(path) && !always.includes(path);
      if (entry.isDirectory()) {
        if (!excluded) entries.push(path);
        if (!excluded || exceptions) walk(path);
      } else if (!excluded && (entry.isFile() || entry.isSymbolicLink())) {
        entries.push(path);
      }
    }
  };
  walk("");
  // One under an excluded directory that was not walked; the engine makes its parents.
  for (const path of always) if (!entries.includes(path) && exists(join(dir, path))) entries.push(path);
  return entries;
}

/**
 * The context as the build API takes it: a gzipped tar of `entries` (symlinks as symlinks, never
 * followed), owned by root as Docker's client sends it. A file that cannot be read fails the stream.
 */
export function packContext(dir: string, entries: readonly string[]): Readable {
  // tar-fs walks each directory it is given; the list already holds all that goes, so it adds nothing.
  const tar = pack(dir, { entries: [...entries], ignore: () => true, map: (header) => ({ ...header, uid: 0, gid: 0 }) });
  return pipeline(tar, createGzip(), () => undefined);
}

/** The lines of the context's `.dockerignore`, trimmed, without blanks and comments; none without one. */
function readRules(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(dir, IGNORE_FILE), "utf8");
  } catch {
    return [];
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function sortedEntries(dir: string): Dirent[] {
  return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
