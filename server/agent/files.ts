import { constants } from "node:fs";
import { cp, lstat, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import type { DirectoryEntry } from "../../generated/ghostd/agent/v1/agent";
import { replaceFile } from "../atomic-file";
import { guestPath } from "./paths";
import { agentError, fsError } from "./reasons";

/** A directory's entries sorted by name; links are followed for kind and size. */
export async function listDirectory(path: string, home: string): Promise<{ path: string; entries: DirectoryEntry[] }> {
  const dir = guestPath(path, home);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw fsError(err, dir);
  }
  const entries = await Promise.all(
    names.map(async (name): Promise<DirectoryEntry> => {
      const full = join(dir, name);
      const info = await stat(full).catch(() => lstat(full));
      return { name, isDir: info.isDirectory(), size: info.size, modified: info.mtimeMs / 1000 };
    }),
  );
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { path: dir, entries };
}

export async function makeDirectory(path: string, parents: boolean, home: string): Promise<string> {
  const dir = guestPath(path, home);
  try {
    await mkdir(dir, { recursive: parents });
  } catch (err) {
    throw fsError(err, dir);
  }
  return dir;
}

export async function deletePath(path: string, recursive: boolean, home: string): Promise<void> {
  const target = guestPath(path, home);
  if (target === "/" || target === home) throw agentError("invalid_argument", `refusing to delete ${target}`);
  try {
    const info = await lstat(target);
    if (!info.isDirectory()) await unlink(target);
    else if (recursive) await rm(target, { recursive: true });
    else await rmdir(target);
  } catch (err) {
    throw fsError(err, target);
  }
}

export async function movePath(from: string, to: string, overwrite: boolean, home: string): Promise<void> {
  const source = guestPath(from, home);
  const destination = guestPath(to, home);
  try {
    await lstat(source);
  } catch (err) {
    throw fsError(err, source);
  }
  const exists = await lstat(destination).then(
    () => true,
    () => false,
  );
  if (exists && !overwrite) throw agentError("already_exists", `${destination} already exists; pass overwrite to replace it`);
  try {
    await rename(source, destination);
  } catch (err) {
    // Across file systems a rename cannot work: copy, then remove the original.
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw fsError(err, destination);
    await cp(source, destination, { recursive: true, force: overwrite, errorOnExist: !overwrite });
    await rm(source, { recursive: true });
  }
}

const MEDIA_TYPES: Record<string, string> = {
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".json": "application/json",
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".xml": "application/xml",
  ".yaml": "application/yaml",
  ".yml": "application/yaml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".tar": "application/x-tar",
};

export function mediaType(path: string): string {
  return MEDIA_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

/**
 * A download's chunk: each layer between the file and a reader that stops (the gRPC writer, the
 * gateway's client call, which holds 16 messages) keeps a few chunks, so their size is what a
 * stalled download costs; 64 KiB keeps that near a megabyte and the throughput of 1 MiB chunks.
 */
const CHUNK_BYTES = 64 * 1024;

/**
 * A file's bytes in chunks, without holding the whole file. Only a regular file: a FIFO would
 * block the open (and with it a thread of the daemon's pool) until something writes to it, and a
 * device such as /dev/zero never ends. The file is opened without blocking and judged by what
 * was opened, so swapping it between a check and the open changes nothing.
 */
/** A guest file opened for reading, checked to be a regular file; `chunks` reads it once and closes it. */
export interface ReadableFile {
  readonly path: string;
  /** Its permission bits (0o644). */
  readonly mode: number;
  readonly size: number;
  chunks(): AsyncGenerator<Buffer>;
}

export async function openReadableFile(path: string, home: string): Promise<ReadableFile> {
  if (path === "") throw agentError("invalid_argument", "a file path is needed: /api/v1/files/<path>");
  const file = guestPath(path, home);
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => Promise.reject(fsError(err, file)));
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw agentError("is_a_directory", `${file} is a directory; list it with /api/v1/fs`);
    if (!info.isFile()) throw agentError("not_a_file", `${file} is not a regular file (a FIFO, socket or device); only files can be read`);
    return { path: file, mode: info.mode & 0o7777, size: info.size, chunks: () => readChunks(handle, file) };
  } catch (err) {
    await handle.close();
    throw fsError(err, file);
  }
}

async function* readChunks(handle: FileHandle, file: string): AsyncGenerator<Buffer> {
  const stream = handle.createReadStream({ highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw fsError(err, file);
  } finally {
    stream.destroy();
  }
}

/** A guest file's bytes in chunks, for readers that need nothing else of it. */
export async function* readFileChunks(path: string, home: string): AsyncGenerator<Buffer> {
  yield* (await openReadableFile(path, home)).chunks();
}

/** Writes a file atomically: a temporary file beside it, synced, then renamed over it. */
export async function writeFileAtomic(path: string, data: Uint8Array, parents: boolean, home: string): Promise<string> {
  if (path === "") throw agentError("invalid_argument", "a file path is needed: /api/v1/files/<path>");
  const file = guestPath(path, home);
  if (parents) await mkdir(dirname(file), { recursive: true }).catch((err: unknown) => Promise.reject(fsError(err, dirname(file))));
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw agentError("is_a_directory", `${file} is a directory`);
  await replaceFile(file, data, existing ? existing.mode & 0o7777 : 0o644).catch((err: unknown) => Promise.reject(fsError(err, file)));
  return file;
}
