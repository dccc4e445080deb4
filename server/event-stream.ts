/** What a subscription feeds an event stream through. */
export interface EventSink<T> {
  /**
   * Queues an item; resolves once the consumer has taken it and come back for more, so a
   * producer that awaits is paced by its reader (exec output), and one that does not just queues.
   */
  push(item: T): Promise<void>;
  /** Ends the stream after what is queued. */
  end(): void;
  /** Fails the stream after what is queued. */
  fail(err: unknown): void;
}

/**
 * Turns a callback subscription into an async iterable of batches: each step yields everything
 * pushed since the last one, in order (a reader that falls behind gets fewer, larger batches
 * instead of a backlog of wake-ups). `subscribe` runs when iteration starts and returns its
 * unsubscribe, called however iteration ends: by the source, by `signal` aborting (which ends
 * the stream quietly), or by the reader leaving early.
 *
 * Logs follow, screen wait and watch, and exec streaming are all this one shape.
 */
export function eventStream<T>(signal: AbortSignal, subscribe: (sink: EventSink<T>) => () => void): AsyncIterable<T[]> {
  return { [Symbol.asyncIterator]: () => new EventIterator(signal, subscribe) };
}

class EventIterator<T> implements AsyncIterator<T[], undefined> {
  private queue: T[] = [];
  /** Producers of what is queued, and of the batch the reader holds. */
  private taken: (() => void)[] = [];
  private pendingRelease: (() => void)[] = [];
  private ending: { error?: unknown } | undefined;
  private closed = false;
  private waiting: ((result: IteratorResult<T[], undefined>) => void) | undefined;
  private failWaiting: ((err: unknown) => void) | undefined;
  private readonly unsubscribe: () => void;
  private readonly onAbort = (): void => this.close();

  constructor(
    private readonly signal: AbortSignal,
    subscribe: (sink: EventSink<T>) => () => void,
  ) {
    signal.addEventListener("abort", this.onAbort);
    this.unsubscribe = subscribe({
      push: (item) => this.push(item),
      end: () => this.finish({}),
      fail: (error) => this.finish({ error }),
    });
    if (signal.aborted) this.close();
  }

  next(): Promise<IteratorResult<T[], undefined>> {
    this.release();
    if (this.queue.length > 0) return Promise.resolve({ done: false, value: this.take() });
    if (this.ending && "error" in this.ending) {
      const { error } = this.ending;
      this.close();
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.ending || this.closed) {
      this.close();
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T[], undefined>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  private push(item: T): Promise<void> {
    if (this.closed || this.ending) return Promise.resolve();
    this.queue.push(item);
    const taken = new Promise<void>((resolve) => this.taken.push(resolve));
    this.deliver();
    return taken;
  }

  private finish(ending: { error?: unknown }): void {
    this.ending ??= ending;
    this.deliver();
  }

  /** Hands what is ready to a reader waiting for it. */
  private deliver(): void {
    const waiting = this.waiting;
    const failWaiting = this.failWaiting;
    if (!waiting || !failWaiting) return;
    this.waiting = undefined;
    this.failWaiting = undefined;
    void this.next().then(waiting, failWaiting);
  }

  /** The batch queued so far; its producers are released when the reader asks for more. */
  private take(): T[] {
    const batch = this.queue;
    this.queue = [];
    this.pendingRelease = this.taken;
    this.taken = [];
    return batch;
  }

  private release(): void {
    for (const resolve of this.pendingRelease.splice(0)) resolve();
  }

  private close(): void {
    if (this.closed && !this.waiting) return;
    const first = !this.closed;
    this.closed = true;
    if (first) {
      this.signal.removeEventListener("abort", this.onAbort);
      this.unsubscribe();
    }
    this.queue = [];
    for (const resolve of [...this.taken.splice(0), ...this.pendingRelease.splice(0)]) resolve();
    const waiting = this.waiting;
    this.waiting = undefined;
    this.failWaiting = undefined;
    waiting?.({ done: true, value: undefined });
  }
}

/** The items of a stream of batches, one by one. */
export async function* flatten<T>(batches: AsyncIterable<readonly T[]>): AsyncGenerator<T, void, undefined> {
  for await (const batch of batches) yield* batch;
}
