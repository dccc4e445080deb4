import { createHash } from "node:crypto";
import { Compressor, decompress } from "zstd-napi";

/**
 * A chunk file is one header byte, then the chunk: 0 stored as it is, 1 compressed with zstd.
 * The chunk's id is the SHA-256 of its uncompressed bytes, so a reader can always check it.
 */
const RAW = 0;
const ZSTD = 1;

// zstd's default level: restic's "auto" compresses at the same speed class.
const LEVEL = 3;
// A chunk is compressed when that saves at least this share of it; a sample of a large chunk tells
// first, so random data (media, archives, encrypted files) costs one small trial, not a whole pass.
const WORTH = 0.97;
const SAMPLE = 64 * 1024;

// One compressor per thread, set up once: setting its parameters per chunk cost as much as
// compressing a small one.
const compressor = new Compressor();
compressor.setParameters({ compressionLevel: LEVEL });

function compress(data: Uint8Array): Buffer {
  return compressor.compress(data);
}

export function chunkId(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** What is stored for a chunk: compressed if that pays, else as it is; with its header byte. */
export function encodeChunk(data: Uint8Array): Uint8Array[] {
  if (data.length > 4 * SAMPLE) {
    const middle = Math.floor(data.length / 2);
    const sample = data.subarray(middle, middle + SAMPLE);
    if (compress(sample).length >= sample.length * WORTH) return [Uint8Array.of(RAW), data];
  }
  const packed = compress(data);
  return packed.length < data.length * WORTH ? [Uint8Array.of(ZSTD), packed] : [Uint8Array.of(RAW), data];
}

/** A chunk file's bytes back to the chunk, checked against its id: a corrupt chunk is never returned. */
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
    return decompress(body);
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
