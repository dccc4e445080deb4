import { createHash } from "node:crypto";

/**
 * Content-defined chunking (FastCDC's gear hash with normalized chunking): a cut falls where the
 * bytes before it say so, not at a fixed offset, so an insertion early in a file moves only the
 * chunks around it and the rest dedupe against the previous snapshot.
 */
export const MIN_CHUNK = 256 * 1024;
export const AVERAGE_CHUNK = 1024 * 1024;
export const MAX_CHUNK = 4 * 1024 * 1024;

/**
 * One pseudo-random 32-bit word per byte value. Derived, not random: cut points (and with them
 * chunk ids and state digests) must be the same in every process and release.
 */
const GEAR = (() => {
  const table = new Int32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHash("sha256").update(`ghostd gear ${block}`).digest();
    for (let i = 0; i < 8; i++) table[block * 8 + i] = digest.readInt32LE(i * 4);
  }
  return table;
})();

/** The top `bits` bits of a 32-bit word: the gear hash's high bits hold the most bytes of context. */
function topBits(bits: number): number {
  return (0xffffffff << (32 - bits)) | 0;
}

// Normalized chunking: a harder mask before the average size and an easier one after pulls the
// sizes towards the average, which dedupes better than one mask over a wide spread.
const MASK_BEFORE = topBits(22);
const MASK_AFTER = topBits(18);

/**
 * Where the chunk starting at `start` ends (exclusive), given `data` up to `end`. `final` says
 * `end` is the end of the file; otherwise the caller must hold at least MAX_CHUNK bytes past
 * `start`, so a cut found is one a longer read would also find.
 */
export function chunkEnd(data: Uint8Array, start: number, end: number, final: boolean): number {
  const available = end - start;
  if (!final && available < MAX_CHUNK) throw new RangeError("chunkEnd needs MAX_CHUNK bytes unless at the end of the file");
  if (available <= MIN_CHUNK) return end;
  const limit = start + Math.min(available, MAX_CHUNK);
  const normal = start + Math.min(available, AVERAGE_CHUNK);
  let hash = 0;
  let i = start + MIN_CHUNK;
  for (; i < normal; i++) {
    hash = ((hash << 1) + (GEAR[data[i] ?? 0] ?? 0)) | 0;
    if ((hash & MASK_BEFORE) === 0) return i + 1;
  }
  for (; i < limit; i++) {
    hash = ((hash << 1) + (GEAR[data[i] ?? 0] ?? 0)) | 0;
    if ((hash & MASK_AFTER) === 0) return i + 1;
  }
  return limit;
}
