/**
 * The largest PTY side ghostd accepts, for every PTY it opens (agent shells and processes,
 * terminal attachments). Wider than any screen; node-pty and the kernel take up to 65535, which
 * full-screen programs choke on when they allocate a row or a screen at that size.
 */
export const MAX_PTY_SIDE = 4096;

/** Whether `n` is a usable PTY width or height. */
export function isPtySide(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_PTY_SIDE;
}

/** The first side that is not usable, described for an error message; undefined when both are. */
export function ptySizeProblem(cols: number, rows: number): string | undefined {
  for (const [name, value] of [["cols", cols], ["rows", rows]] as const) {
    if (!isPtySide(value)) return `${name} must be a whole number from 1 to ${MAX_PTY_SIDE}; got ${value}`;
  }
  return undefined;
}
