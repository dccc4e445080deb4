import { createHash, createPrivateKey, sign, createPublicKey, type KeyObject } from "node:crypto";
import { createReadStream, createWriteStream, lstatSync, readdirSync, readFileSync, renameSync, rmSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { pack, type Pack } from "tar-stream";
import { loadPlan } from "../plan-loader";
import { SIGNATURES, contentList, packageDigest, type PackageFile } from "./content-list";
import { SIGNATURE_FILES } from "./entry-ledger";
import { DEFAULT_LIMITS, nameProblem } from "./entry-rules";
import { PACKAGE_MANIFEST } from "./inspect";

/** A source directory that cannot become a package: the path and why. */
export class BuildError extends Error {}

export interface BuiltPackage {
  readonly path: string;
  readonly digest: string;
  readonly signed: boolean;
  readonly files: number;
  readonly bytes: number;
}

interface SourceEntry {
  readonly path: string;
  readonly directory: boolean;
  readonly executable: boolean;
  readonly size: number;
}

/** Every entry is written with these, so the archive depends on the files' names and bytes alone. */
const FIXED = { mtime: new Date(0), uid: 0, gid: 0, uname: "", gname: "" };

/**
 * Packs `dir` into a .vibeapp at `output`, byte for byte the same for the same names and bytes:
 * entries in byte order of their paths, fixed times, owners and modes (0755 for directories and
 * executables, 0644 otherwise) and gzip's header without a time. The source's own signatures/ is
 * left out; with a key, fresh signature files are written last.
 */
export async function buildPackage(dir: string, output: string, privateKeyPem?: string | Buffer): Promise<BuiltPackage> {
  const key = privateKeyPem === undefined ? undefined : signingKey(privateKeyPem);
  checkManifest(dir);
  const entries = sourceEntries(dir);
  const temporary = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  const packer = pack();
  const written = pipeline(packer, createGzip({ level: 9 }), createWriteStream(temporary, { mode: 0o644 }));
  try {
    const files = await packEntries(packer, dir, entries);
    if (key) await packSignatures(packer, contentList(files), key);
    packer.finalize();
    await written;
    renameSync(temporary, output);
    return { path: output, digest: packageDigest(contentList(files)), signed: key !== undefined, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
  } catch (err) {
    packer.destroy();
    await written.catch(() => undefined);
    rmSync(temporary, { force: true });
    throw err;
  }
}

function signingKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new BuildError(`the signing key is not a PEM private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new BuildError(`the signing key is ${key.asymmetricKeyType ?? "unknown"}, not Ed25519 (make one with ghostctl package keygen)`);
  return key;
}

function checkManifest(dir: string): void {
  let text: string;
  try {
    text = readFileSync(join(dir, PACKAGE_MANIFEST), "utf8");
  } catch {
    throw new BuildError(`${dir} has no ${PACKAGE_MANIFEST}: a package's root holds its manifest`);
  }
  try {
    loadPlan(text, dir);
  } catch (err) {
    throw new BuildError(`${PACKAGE_MANIFEST}: ${(err as Error).message}`);
  }
}

/** The directory's files and directories, in byte order of their paths, each checked against the format. */
export function sourceEntries(dir: string): SourceEntry[] {
  const found: SourceEntry[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(dir, relative))) {
      const path = relative === "" ? name : `${relative}/${name}`;
      if (path === SIGNATURES.slice(0, -1)) continue;
      const entry = sourceEntry(path, lstatSync(join(dir, path)));
      found.push(entry);
      if (entry.directory) walk(path);
    }
  };
  walk("");
  found.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  checkLimits(found);
  return found;
}

function sourceEntry(path: string, stats: Stats): SourceEntry {
  const problem = nameProblem(path);
  if (problem) throw new BuildError(`${JSON.stringify(path)}: ${problem}`);
  if (!stats.isFile() && !stats.isDirectory()) throw new BuildError(`${path}: only regular files and directories go into a package (this is ${stats.isSymbolicLink() ? "a symbolic link" : "a special file"})`);
  return { path, directory: stats.isDirectory(), executable: stats.isDirectory() || (stats.mode & 0o111) !== 0, size: stats.isFile() ? stats.size : 0 };
}

function checkLimits(entries: readonly SourceEntry[]): void {
  if (entries.length > DEFAULT_LIMITS.maxEntries) throw new BuildError(`${entries.length} entries: a package holds at most ${DEFAULT_LIMITS.maxEntries}`);
  const big = entries.find((e) => e.size > DEFAULT_LIMITS.maxFileBytes);
  if (big) throw new BuildError(`${big.path}: a file is at most ${DEFAULT_LIMITS.maxFileBytes} bytes`);
  const total = entries.reduce((n, e) => n + e.size, 0);
  if (total > DEFAULT_LIMITS.maxUnpackedBytes) throw new BuildError(`${total} bytes: a package unpacks to at most ${DEFAULT_LIMITS.maxUnpackedBytes}`);
}

/** Writes each entry, streaming files and hashing them on the way: the content list comes for free. */
async function packEntries(packer: Pack, dir: string, entries: readonly SourceEntry[]): Promise<PackageFile[]> {
  const files: PackageFile[] = [];
  for (const entry of entries) {
    const mode = entry.executable ? 0o755 : 0o644;
    if (entry.directory) {
      await entryWritten(packer, { name: entry.path, type: "directory", mode, ...FIXED }, "");
      continue;
    }
    const hash = createHash("sha256");
    const sink = packer.entry({ name: entry.path, type: "file", mode, size: entry.size, ...FIXED });
    const source = createReadStream(join(dir, entry.path));
    source.on("data", (chunk) => hash.update(chunk));
    await pipeline(source, sink);
    files.push({ path: entry.path, sha256: hash.digest("hex"), size: entry.size });
  }
  return files;
}

async function packSignatures(packer: Pack, list: string, key: KeyObject): Promise<void> {
  const publicPem = createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
  const signature = `${sign(null, Buffer.from(list, "utf8"), key).toString("base64")}\n`;
  await entryWritten(packer, { name: SIGNATURES.slice(0, -1), type: "directory", mode: 0o755, ...FIXED }, "");
  await entryWritten(packer, { name: SIGNATURE_FILES.signature, type: "file", mode: 0o644, ...FIXED }, signature);
  await entryWritten(packer, { name: SIGNATURE_FILES.publicKey, type: "file", mode: 0o644, ...FIXED }, publicPem);
}

function entryWritten(packer: Pack, header: Parameters<Pack["entry"]>[0], content: string): Promise<void> {
  return new Promise((resolve, reject) => packer.entry(header, content, (err) => (err ? reject(err) : resolve())));
}
