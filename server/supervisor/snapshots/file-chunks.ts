import { closeSync, fstatSync, futimesSync, fchmodSync, openSync, readSync, writeSync } from "node:fs";
import { chunkId } from "./chunk-codec";
import { chunkEnd, MAX_CHUNK } from "./chunking";
import type { ChunkStore } from "./chunk-store";

/** A file as the store holds it: its chunks in order, and what storing them cost. */
export interface StoredFile {
  readonly chunks: string[];
  /** Bytes read: the file's size as it was read, whatever a stat before said. */
  readonly size: number;
  /** Chunks this call added to the store, and their bytes on disk (compressed). */
  readonly newChunks: string[];
  readonly storedBytes: number;
}

// A maximum chunk ahead of the cut, and a read's worth beyond it.
export const WINDOW = MAX_CHUNK + 1024 * 1024;

/**
 * Reads a file once, cutting it into content-defined chunks and storing those the store lacks.
 * Memory stays at two maximum chunks whatever the file's size.
 */
export function storeFile(store: ChunkStore, path: string, buffer: Buffer = Buffer.allocUnsafe(WINDOW)): StoredFile {
  const fd = openSync(path, "r");
  try {
    return storeFrom(store, fd, buffer);
  } finally {
    closeSync(fd);
  }
}

function storeFrom(store: ChunkStore, fd: number, buffer: Buffer): StoredFile {
  const result = { chunks: [] as string[], size: 0, newChunks: [] as string[], storedBytes: 0 };
  let start = 0;
  let end = 0;
  let eof = false;
  for (;;) {
    if (!eof && end - start < MAX_CHUNK) {
      buffer.copyWithin(0, start, end);
      end -= start;
      start = 0;
      const read = fill(fd, buffer, end);
      eof = read < buffer.length - end;
      end += read;
    }
    if (start === end) return result;
    const cut = chunkEnd(buffer, start, end, eof);
    const data = buffer.subarray(start, cut);
    const id = chunkId(data);
    const { stored } = store.put(id, data);
    if (stored > 0) result.newChunks.push(id);
    result.chunks.push(id);
    result.storedBytes += stored;
    result.size += data.length;
    start = cut;
  }
}

/** Reads until the buffer is full or the file ends; returns how much came. */
function fill(fd: number, buffer: Buffer, from: number): number {
  let at = from;
  while (at < buffer.length) {
    const read = readSync(fd, buffer, at, buffer.length - at, null);
    if (read === 0) break;
    at += read;
  }
  return at - from;
}

/**
 * Writes a file from its chunks, each checked against its id on the way, with its mode and
 * modification time (seconds, to the microsecond a double holds). The file must not exist: restores write into a fresh staging tree.
 */
export function writeFileFrom(store: ChunkStore, path: string, chunks: readonly string[], mode: number, mtimeSeconds: number): number {
  const fd = openSync(path, "wx", mode & 0o7777);
  let size = 0;
  try {
    for (const id of chunks) {
      const data = store.get(id);
      let at = 0;
      while (at < data.length) at += writeSync(fd, data, at);
      size += data.length;
    }
    // The umask may have narrowed the mode given to open.
    if ((fstatSync(fd).mode & 0o7777) !== (mode & 0o7777)) fchmodSync(fd, mode & 0o7777);
    futimesSync(fd, mtimeSeconds, mtimeSeconds);
  } finally {
    closeSync(fd);
  }
  return size;
}
