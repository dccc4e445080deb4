/**
 * What a source (a PTY, a socket) has produced and its reader has not taken yet, bounded: past
 * `highWater` bytes the source is paused until the reader catches up, so a client that stops
 * reading stops the source instead of growing the daemon.
 */
export class OutputQueue<T extends object> {
  private readonly items: T[] = [];
  private bytes = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private waiting: (() => void) | undefined;
  private paused = false;

  constructor(
    private readonly highWater: number,
    private readonly flow: { pause(): void; resume(): void },
  ) {}

  push(item: T): void {
    this.items.push(item);
    this.bytes += sizeOf(item);
    if (this.bytes > this.highWater && !this.paused) {
      this.paused = true;
      this.flow.pause();
    }
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Ends the reader's iteration with `error` once what is queued has been taken. */
  fail(error: unknown): void {
    this.failure = { error };
    this.end();
  }

  async *drain(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        this.bytes -= sizeOf(item);
        this.resumeIfLow();
        yield item;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  private resumeIfLow(): void {
    if (this.paused && this.bytes <= this.highWater / 2) {
      this.paused = false;
      this.flow.resume();
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

function sizeOf(item: object): number {
  return "output" in item && Buffer.isBuffer(item.output) ? item.output.length : 0;
}
