/**
 * The rules of docs/vibeapp-format.md ("Container") for one archive entry, checked before any
 * byte of it is written: a name that breaks one, or a type other than a file or a directory,
 * makes the package INVALID_PACKAGE, and the problem names the rule.
 */

export interface PackageLimits {
  readonly maxEntries: number;
  readonly maxUnpackedBytes: number;
  readonly maxFileBytes: number;
}

export const DEFAULT_LIMITS: PackageLimits = { maxEntries: 10_000, maxUnpackedBytes: 1024 * 1024 * 1024, maxFileBytes: 256 * 1024 * 1024 };

export const MAX_NAME_BYTES = 255;

/** NUL and the other C0 controls, and DEL. */
function hasControl(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Why `name` cannot be an entry's name, or undefined when it can. A directory's trailing "/" is allowed. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "an entry has an empty name";
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `a name is at most ${MAX_NAME_BYTES} bytes`;
  if (hasControl(name)) return "a name holds no NUL or other control character";
  if (name.includes("\\")) return "a name holds no backslash";
  if (name.startsWith("/")) return "a name is relative (no leading /)";
  const segments = (name.endsWith("/") ? name.slice(0, -1) : name).split("/");
  if (segments.some((s) => s === "." || s === "..")) return "a name has no . or .. segment";
  if (segments.some((s) => s === "")) return "a name has no empty segment (//)";
  return undefined;
}

/** The entry's path as the package knows it: without a directory's trailing "/". */
export function entryPath(name: string): string {
  return name.endsWith("/") ? name.slice(0, -1) : name;
}

export type EntryKind = "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo" | "other";

/** Why an entry of this kind cannot be in a package, or undefined for files and directories. */
export function kindProblem(kind: EntryKind): string | undefined {
  if (kind === "file" || kind === "directory") return undefined;
  const names: Record<Exclude<EntryKind, "file" | "directory">, string> = {
    symlink: "a symbolic link",
    link: "a hard link",
    "character-device": "a character device",
    "block-device": "a block device",
    fifo: "a FIFO",
    other: "an entry of another type (a socket, or one tar does not know)",
  };
  return `only regular files and directories: this is ${names[kind]}`;
}
