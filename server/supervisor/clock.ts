/**
 * Time as the supervisor's waits see it: restart backoff, healthcheck intervals and the start
 * settle. The system clock in the daemon; tests hand in one they move by hand, so a 30 s backoff
 * is checked in microseconds.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the function returned cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}
