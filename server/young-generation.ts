import { setFlagsFromString } from "node:v8";

/** V8's own default: each time the young generation grows, it doubles (up to its maximum). */
const DEFAULT_GROWTH_FACTOR = 2;

let holders = 0;

/**
 * Runs `work` with V8's young generation held at the size it has. A stream moving bulk data
 * through 64 KiB buffers keeps many small objects alive across each write, so V8 sees a high
 * survival rate and doubles the young generation up to 32 MB, every page of it soon resident;
 * the buffers those dead objects hold add as much again outside the heap. Unpacking a 500 MB
 * package took the daemon from about 85 to 150 MB that way, and to 100-130 MB without the growth.
 * Held only while such work runs: the daemon's requests are faster with room to grow (about a
 * tenth more Host API requests a second). Nested and concurrent holders share one hold.
 */
export async function withYoungGenerationHeld<T>(work: () => Promise<T>): Promise<T> {
  if (holders++ === 0) setFlagsFromString("--semi-space-growth-factor=1");
  try {
    return await work();
  } finally {
    if (--holders === 0) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  }
}
