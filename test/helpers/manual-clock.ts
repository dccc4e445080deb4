import type { Clock } from "../../server/supervisor/clock";

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly fn: () => void;
}

/** Lets every callback already due run: promise jobs, then what they queued, then the rest. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told: timers fire in time order as it is moved, with the promise
 * work each one starts run to the end before the next, so a test steps through backoffs and
 * health intervals in microseconds.
 */
export class ManualClock implements Clock {
  private time = 1_000_000;
  private order = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + Math.max(0, ms), order: this.order++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Delays of the timers pending, from now, soonest first. */
  pending(): number[] {
    return this.timers.map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (let next = await this.nextDue(target); next; next = await this.nextDue(target)) this.fire(next);
    this.time = target;
    await settle();
  }

  /** Moves time from timer to timer until `promise` settles; fails if nothing is left to wait for. */
  async until<T>(promise: Promise<T>): Promise<T> {
    const state = { settled: false };
    const watched = promise.finally(() => (state.settled = true));
    void watched.catch(() => undefined);
    for (;;) {
      await settle();
      if (state.settled) return watched;
      const next = this.soonest();
      if (!next) throw new Error("the promise waits for nothing this clock would fire");
      this.fire(next);
    }
  }

  private async nextDue(target: number): Promise<Timer | undefined> {
    await settle();
    const next = this.soonest();
    return next && next.at <= target ? next : undefined;
  }

  private soonest(): Timer | undefined {
    return [...this.timers].sort((a, b) => a.at - b.at || a.order - b.order)[0];
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.time = Math.max(this.time, timer.at);
    timer.fn();
  }
}
