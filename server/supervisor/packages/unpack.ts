import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { withYoungGenerationHeld } from "../../young-generation";
import type { PackageFile } from "./content-list";
import { EntryLedger, PackageRefused, type AdmittedEntry } from "./entry-ledger";
import type { PackageLimits } from "./entry-rules";

/**
 * Bytes read from the package file, and inflated, at a time. Small: every chunk is a new buffer
 * that stays resident until V8 collects it, and V8 counts objects, not buffer bytes, when it
 * decides to; 1 MiB and 256 KiB chunks kept the daemon 20 MB higher for no gain in speed.
 */
const READ_CHUNK = 64 * 1024;
const INFLATE_CHUNK = 64 * 1024;
/** What a tar stream may hold besides file bytes: a header block or two per entry, and the end. */
const TAR_OVERHEAD_PER_ENTRY = 4096;

/**
 * Streams a .vibeapp (gzip, then tar) into `staging`, an empty directory, entry by entry: each
 * header is checked by the ledger before any of its bytes are written, files are created with
 * O_EXCL and O_NOFOLLOW (nothing but files and directories is ever made, so no link exists to
 * follow), and each file's SHA-256 is taken from the bytes as they are written. The archive is
 * never held whole: memory is a few chunks. A refusal or a broken archive is PackageRefused; the
 * caller removes the staging directory.
 */
export function unpack(archivePath: string, staging: string, limits: PackageLimits): Promise<PackageFile[]> {
  return withYoungGenerationHeld(() => unpackStream(archivePath, staging, limits));
}

async function unpackStream(archivePath: string, staging: string, limits: PackageLimits): Promise<PackageFile[]> {
  const source = createReadStream(archivePath, { highWaterMark: READ_CHUNK });
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
  const cap = new InflatedCap(limits.maxUnpackedBytes + limits.maxEntries * TAR_OVERHEAD_PER_ENTRY + READ_CHUNK);
  const entries = extract();
  const broken = new BreakWatch(entries);
  const fail = (err: Error): void => {
    entries.destroy(err);
  };
  source.on("error", fail);
  gunzip.on("error", fail);
  cap.on("error", fail);
  source.pipe(gunzip).pipe(cap).pipe(entries);
  const ledger = new EntryLedger(limits);
  const writer = new StagingWriter(staging);
  const files: PackageFile[] = [];
  try {
    for await (const entry of entries) {
      const admitted = ledger.admit(entry.header);
      if (admitted.kind === "directory") await writer.directory(admitted.path, entry);
      else files.push(await writer.file(admitted, entry));
    }
    return files;
  } catch (err) {
    // A file's bytes end in "Stream was destroyed" when the archive broke under them: tell the archive's error.
    throw refusalOf(err instanceof Error && (err as NodeJS.ErrnoException).code === "STREAM_DESTROYED" ? ((await broken.settled()) ?? err) : err);
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

/** The first error the tar reader met, known for certain once it has closed. */
class BreakWatch {
  private error: unknown;
  private readonly closed: Promise<void>;

  constructor(private readonly entries: ReturnType<typeof extract>) {
    entries.on("error", (err: unknown) => (this.error ??= err));
    this.closed = new Promise((resolve) => entries.on("close", () => resolve()));
  }

  async settled(): Promise<unknown> {
    this.entries.destroy();
    await this.closed;
    return this.error;
  }
}

/** An entry's bytes as the tar reader gives them. */
type EntryBytes = AsyncIterable<unknown> & { resume(): unknown };

/** Creates what the ledger admitted inside the staging directory, and nowhere else. */
class StagingWriter {
  private readonly made = new Set<string>([""]);

  constructor(private readonly root: string) {}

  async directory(path: string, entry: EntryBytes): Promise<void> {
    entry.resume();
    await this.makeDirectory(path);
  }

  async file(admitted: AdmittedEntry, entry: EntryBytes): Promise<PackageFile> {
    await this.makeDirectory(dirname(admitted.path) === "." ? "" : dirname(admitted.path));
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(join(this.root, admitted.path), flags, admitted.executable ? 0o755 : 0o644);
    const hash = createHash("sha256");
    let size = 0;
    const hashed = async function* (chunks: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        if (!Buffer.isBuffer(chunk)) throw new TypeError("a tar entry gave a chunk that is not bytes");
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    };
    // pipeline, not a loop of writes: a failing write (a full disk) must reject, not go unheard.
    const bytes: AsyncIterable<unknown> = { [Symbol.asyncIterator]: () => entry[Symbol.asyncIterator]() };
    await pipeline(bytes, hashed, handle.createWriteStream());
    return { path: admitted.path, sha256: hash.digest("hex"), size };
  }

  private async makeDirectory(path: string): Promise<void> {
    if (this.made.has(path)) return;
    await mkdir(join(this.root, path), { recursive: true, mode: 0o755 });
    for (let at = path; at !== "." && at !== "" && !this.made.has(at); at = dirname(at)) this.made.add(at);
  }
}

/** Fails the stream once more bytes come out of gzip than the limits allow in a tar: a bomb ends here, whatever its headers say. */
class InflatedCap extends Transform {
  private seen = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) done(new PackageRefused(undefined, `the archive inflates to more than ${this.limit} bytes: over the unpacked limit`));
    else done(null, chunk);
  }
}

/** A broken archive, told as the rule it breaks; our own refusals and local failures pass as they are. */
function refusalOf(err: unknown): unknown {
  if (err instanceof PackageRefused || !(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "Z_DATA_ERROR" && /header/i.test(err.message)) return new PackageRefused(undefined, "a package is a gzip-compressed tar archive: this file is not gzip");
  if (code === "Z_BUF_ERROR" || /unexpected end/i.test(err.message)) return new PackageRefused(undefined, "the archive is truncated");
  if (code?.startsWith("Z_")) return new PackageRefused(undefined, `the gzip stream is corrupt: ${err.message}`);
  if (/tar header|invalid|checksum/i.test(err.message)) return new PackageRefused(undefined, `the tar stream is corrupt: ${err.message}`);
  return err;
}
