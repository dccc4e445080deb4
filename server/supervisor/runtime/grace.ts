import type { Exit } from "./driver";

/** Whether the grace ran out (or was cut short) before the task exited. */
export async function graceRunsOut(exited: Promise<Exit>, graceMs: number, signal: AbortSignal | undefined): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let abort: (() => void) | undefined;
  const over = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
    abort = () => resolve(true);
    if (signal?.aborted) resolve(true);
    signal?.addEventListener("abort", abort, { once: true });
  });
  try {
    return await Promise.race([exited.then(() => false), over]);
  } finally {
    clearTimeout(timer);
    if (abort) signal?.removeEventListener("abort", abort);
  }
}
