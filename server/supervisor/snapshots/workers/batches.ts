// A batch is what one thread does before it reports: large enough that messages cost nothing
// beside the work, small enough that both threads stay busy and progress moves.
const BATCH_BYTES = 32 * 1024 * 1024;
const BATCH_FILES = 256;

/** Batches of at most BATCH_FILES files and about BATCH_BYTES bytes, in order. */
export function batchesOf<T>(items: readonly T[], sizeOf: (item: T) => number): T[][] {
  const result: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (bytes + sizeOf(item) > BATCH_BYTES || current.length >= BATCH_FILES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += sizeOf(item);
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** Waits for every promise, then fails with the first failure: nothing is still writing when a caller cleans up. */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
