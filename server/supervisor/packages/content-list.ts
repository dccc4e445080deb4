import { createHash } from "node:crypto";

/** A regular file of a package as extracted: its path, the SHA-256 of its bytes (hex) and its size. */
export interface PackageFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/** Signature files are not in the content list they sign. */
export const SIGNATURES = "signatures/";

/**
 * The content list of docs/vibeapp-format.md: one line per regular file not under signatures/,
 * sorted by path in byte order, `sha256:<hex>  <size>  <path>\n`.
 */
export function contentList(files: readonly PackageFile[]): string {
  return files
    .filter((f) => !f.path.startsWith(SIGNATURES))
    .map((f) => ({ f, key: Buffer.from(f.path) }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ f }) => `sha256:${f.sha256}  ${f.size}  ${f.path}\n`)
    .join("");
}

/** `sha256:` and the SHA-256 of the content list's bytes. */
export function packageDigest(list: string): string {
  return `sha256:${createHash("sha256").update(list, "utf8").digest("hex")}`;
}
