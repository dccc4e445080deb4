import { createHash } from "node:crypto";
import { CCtx, compressBound, DCtx, getFrameContentSize } from "zstd-napi/binding";
import { MAX_CHUNK } from "./chunking";

/**
 * A chunk file is one header byte, then the chunk: 0 stored as it is, 1 compressed with zstd.
 * The chunk's id is the SHA-256 of its uncompressed bytes, so a reader can always check it.
 */
const RAW = 0;
const ZSTD = 1;

// Two levels above zstd's default (restic's "auto" is about level 3): on compressible data (logs) it stores 5% less for 40% more time on those chunks, and random data never gets this far.
const LEVEL = 5;
// A chunk is compressed when that saves at least this share of it; a sample of a large chunk tells
// first, so random data (media, archives, encrypted files) costs one small trial, not a whole pass.
const WORTH = 0.97;
const SAMPLE = 64 * 1024;

// One context and one output buffer each way per thread, made once: a save compresses thousands
// of chunks, and a fresh output buffer for each left tens of MB of garbage per thread.
// Made on first use: a thread that only saves never decompresses, one that only restores never compresses.
let compressing: { context: CCtx; out: Buffer } | undefined;
let decompressing: { context: DCtx; out: Buffer } | undefined;
const HEADERS = { [RAW]: Uint8Array.of(RAW), [ZSTD]: Uint8Array.of(ZSTD) };

export function chunkId(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * What is stored for a chunk: compressed if that pays, else as it is; with its header byte. The
 * parts are valid until the next call in this thread.
 */
export function encodeChunk(data: Uint8Array): Uint8Array[] {
  if (data.length > 4 * SAMPLE) {
    const middle = Math.floor(data.length / 2);
    const sample = data.subarray(middle, middle + SAMPLE);
    if (compress(sample).length >= sample.length * WORTH) return [HEADERS[RAW], data];
  }
  const packed = compress(data);
  return packed.length < data.length * WORTH ? [HEADERS[ZSTD], packed] : [HEADERS[RAW], data];
}

function compress(data: Uint8Array): Buffer {
  compressing ??= { context: new CCtx(), out: Buffer.allocUnsafe(compressBound(MAX_CHUNK)) };
  return compressing.out.subarray(0, compressing.context.compress(compressing.out, data, LEVEL));
}

/**
 * A chunk file's bytes back to the chunk, checked against its id: a corrupt chunk is never
 * returned. The result is valid until the next call in this thread.
 */
export function decodeChunk(id: string, stored: Uint8Array): Buffer {
  const body = stored.subarray(1);
  let data: Buffer;
  if (stored[0] === RAW) data = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else if (stored[0] === ZSTD) data = decodeZstd(id, body);
  else throw new ChunkCorrupt(id, `unknown encoding ${stored[0] ?? "(empty file)"}`);
  if (chunkId(data) !== id) throw new ChunkCorrupt(id, "its content does not match its digest");
  return data;
}

function decodeZstd(id: string, body: Uint8Array): Buffer {
  try {
    const size = getFrameContentSize(body);
    if (size === null || size > MAX_CHUNK) throw new Error(`it claims ${size ?? "an unknown"} size`);
    decompressing ??= { context: new DCtx(), out: Buffer.allocUnsafe(MAX_CHUNK) };
    return decompressing.out.subarray(0, decompressing.context.decompress(decompressing.out, body));
  } catch (err) {
    throw new ChunkCorrupt(id, `it does not decompress (${(err as Error).message})`);
  }
}

/** A chunk that is missing or whose bytes are not what its id says. */
export class ChunkCorrupt extends Error {
  constructor(
    readonly id: string,
    why: string,
  ) {
    super(`chunk ${id.slice(0, 16)}… is corrupt: ${why}`);
    this.name = "ChunkCorrupt";
  }
}
