import { closeSync, existsSync, fstatSync, linkSync, mkdirSync, openSync, readSync, renameSync, rmSync, writevSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { compressBound } from "zstd-napi/binding";
import { ChunkCorrupt, decodeChunk, encodeChunk } from "./chunk-codec";
import { MAX_CHUNK } from "./chunking";

const DIRECTORY_MODE = 0o700;
/** Temp files are named by process, thread and count: unique without asking for random bytes per chunk. */
let written = 0;
/** A chunk file as read, reused: one buffer per thread rather than one per chunk, made at the first read. */
let readBuffer: Buffer | undefined;
const CHUNK_ID = /^[0-9a-f]{64}$/;

/** What writing one chunk did: `stored` is 0 when the store held it already. */
export interface ChunkWrite {
  readonly stored: number;
}

/**
 * A project's chunks, one file each under `chunks/<first two hex digits>/<sha256>`. A chunk is
 * written to a temp file and renamed into place, so a name always holds the whole chunk (made
 * durable by the save's one filesystem sync before anything references it); it is
 * never rewritten, which is what lets a duplicate project hard-link it. Synchronous on purpose:
 * it runs in worker threads, where a blocking call costs no one else.
 */
export class ChunkStore {
  /** Fan-out directories known to exist: making one again per chunk cost more than writing a small chunk. */
  private readonly made = new Set<string>();

  constructor(readonly root: string) {}

  pathOf(id: string): string {
    return join(this.root, id.slice(0, 2), id);
  }

  has(id: string): boolean {
    return existsSync(this.pathOf(id));
  }

  /** Stores `data` under `id` unless it is there already. */
  put(id: string, data: Uint8Array): ChunkWrite {
    if (existsSync(this.pathOf(id))) return { stored: 0 };
    const parts = encodeChunk(data);
    try {
      this.write(id, parts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // Its directory went since this store made it (a state path removed and made again).
      this.made.delete(join(this.root, id.slice(0, 2)));
      this.write(id, parts);
    }
    return { stored: parts.reduce((total, part) => total + part.length, 0) };
  }

  private write(id: string, parts: readonly Uint8Array[]): void {
    const temp = join(this.fanOf(id), `.${id}.${process.pid}.${threadId}.${++written}.tmp`);
    try {
      const fd = openSync(temp, "wx", 0o600);
      try {
        writevSync(fd, parts);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.pathOf(id));
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
  }

  /** The chunk's bytes, checked against its id; valid until the next read in this thread. */
  get(id: string): Buffer {
    let fd: number;
    try {
      fd = openSync(this.pathOf(id), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ChunkCorrupt(id, "it is missing from the store");
      throw err;
    }
    try {
      const size = fstatSync(fd).size;
      const stored = (readBuffer ??= Buffer.allocUnsafe(compressBound(MAX_CHUNK) + 1));
      if (size > stored.length) throw new ChunkCorrupt(id, `its file holds ${size} bytes, more than any chunk`);
      let at = 0;
      for (let read = 1; at < size && read > 0; at += read) read = readSync(fd, stored, at, size - at, at);
      return decodeChunk(id, stored.subarray(0, at));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Makes `id` of `source` one of this store's chunks: a hard link where both are on one
   * filesystem (chunks are immutable, so sharing the inode is safe), a copy otherwise.
   */
  adopt(source: ChunkStore, id: string): void {
    const path = this.pathOf(id);
    if (existsSync(path)) return;
    this.fanOf(id);
    try {
      linkSync(source.pathOf(id), path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return;
      if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw err;
      this.put(id, source.get(id));
    }
  }

  /** The chunk's fan-out directory, made if need be. */
  private fanOf(id: string): string {
    const dir = join(this.root, id.slice(0, 2));
    if (!this.made.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: DIRECTORY_MODE });
      this.made.add(dir);
    }
    return dir;
  }

  /** Every chunk id in the store, and the temp files a killed writer left (for the sweep). */
  async contents(): Promise<{ ids: string[]; temps: string[] }> {
    const ids: string[] = [];
    const temps: string[] = [];
    for (const fan of await readdir(this.root).catch(() => [])) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      for (const name of await readdir(join(this.root, fan)).catch(() => [])) {
        if (CHUNK_ID.test(name)) ids.push(name);
        else if (name.endsWith(".tmp")) temps.push(join(this.root, fan, name));
      }
    }
    return { ids, temps };
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }
}
