import type { OutputKind } from "./types";

export const DEFAULT_HISTORY_BYTES = 256 * 1024;

/**
 * Small chunks of one stream in a row are joined up to this size: a program printing a line at a
 * time would otherwise keep an object per line, outweighing the bytes the limit counts.
 */
const JOIN_BELOW_BYTES = 4096;

export interface OutputChunk {
  readonly kind: OutputKind;
  readonly data: Buffer;
}

/**
 * The latest output of one process, all its streams in one sequence of at most `limit` bytes,
 * the oldest dropped first. One sequence, not one per stream, so a replay interleaves stdout and
 * stderr as they came; the price is that a chatty stream can push the other one out.
 */
export class OutputHistory {
  private chunks: OutputChunk[] = [];
  /** Index of the oldest kept chunk: dropping from the front is a step, not a copy of the array. */
  private head = 0;
  private bytes = 0;

  constructor(private readonly limit: number = DEFAULT_HISTORY_BYTES) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`history limit ${limit} is not a byte count`);
  }

  get size(): number {
    return this.bytes;
  }

  append(kind: OutputKind, data: Buffer): void {
    if (this.limit === 0 || data.length === 0) return;
    // A chunk larger than the whole history leaves only its own tail.
    const kept = data.length > this.limit ? data.subarray(data.length - this.limit) : data;
    const last = this.chunks.length > this.head ? this.chunks[this.chunks.length - 1] : undefined;
    if (last?.kind === kind && last.data.length + kept.length <= JOIN_BELOW_BYTES) {
      this.chunks[this.chunks.length - 1] = { kind, data: Buffer.concat([last.data, kept]) };
    } else {
      this.chunks.push({ kind, data: kept });
    }
    this.bytes += kept.length;
    this.trim();
  }

  /** What is kept, oldest first; the first chunk may start mid-line, where the cut fell. */
  snapshot(): OutputChunk[] {
    return this.chunks.slice(this.head);
  }

  private trim(): void {
    while (this.bytes > this.limit) {
      const oldest = this.chunks[this.head];
      if (!oldest) break;
      const excess = this.bytes - this.limit;
      if (oldest.data.length > excess) {
        this.chunks[this.head] = { kind: oldest.kind, data: oldest.data.subarray(excess) };
        this.bytes -= excess;
      } else {
        this.head++;
        this.bytes -= oldest.data.length;
      }
    }
    // Compacts once the dropped front outweighs what is kept, so the array stays proportional to the history.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
