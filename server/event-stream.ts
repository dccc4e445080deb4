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
 * How much a stream queues for a reader that has stopped reading: a producer that does not await
 * its pushes (a followed log, change notices) would otherwise grow the queue for as long as the
 * client stays connected without reading.
 */
export interface QueueBound<T> {
  /** The most the queue holds, in items, or in what `weigh` counts; one item is always taken. */
  readonly max: number;
  readonly weigh?: (item: T) => number;
  /**
   * Past the bound: "drop" the new item (notices, where any one queued stands for all), or end
   * the stream with the error this returns, letting go of what was queued.
   */
  readonly overflow: "drop" | (() => Error);
}

/**
 * Turns a callback subscription into an async iterable of batches: each step yields everything
 * pushed since the last one, in order (a reader that falls behind gets fewer, larger batches
 * instead of a backlog of wake-ups), the batch never more than `bound` allows. `subscribe` runs
 * when iteration starts and returns its unsubscribe, called however iteration ends: by the
 * source, by `signal` aborting (which ends the stream quietly), by overflow, or by the reader
 * leaving early.
 *
 * Logs follow, screen wait and watch, and exec streaming are all this one shape.
 */
export function eventStream<T>(signal: AbortSignal, subscribe: (sink: EventSink<T>) => () => void, bound: QueueBound<T>): AsyncIterable<T[]> {
  return { [Symbol.asyncIterator]: () => new EventIterator(signal, subscribe, bound) };
}

class EventIterator<T> implements AsyncIterator<T[], undefined> {
  private queue: T[] = [];
  private queuedWeight = 0;
  /** Producers of what is queued, and of the batch the reader holds. */
  private taken: (() => void)[] = [];
  private pendingRelease: (() => void)[] = [];
  private ending: { error?: unknown } | undefined;
  private closed = false;
  private subscribed = true;
  private waiting: ((result: IteratorResult<T[], undefined>) => void) | undefined;
  private failWaiting: ((err: unknown) => void) | undefined;
  /** Set once `subscribe` has returned it. */
  private unsubscribeSource: (() => void) | undefined;
  private readonly onAbort = (): void => this.close();

  constructor(
    private readonly signal: AbortSignal,
    subscribe: (sink: EventSink<T>) => () => void,
    private readonly bound: QueueBound<T>,
  ) {
    signal.addEventListener("abort", this.onAbort);
    const unsubscribe = subscribe({
      push: (item) => this.push(item),
      end: () => this.finish({}),
      fail: (error) => this.finish({ error }),
    });
    this.unsubscribeSource = unsubscribe;
    // A source that overflowed while subscribing is stopped now that it can be.
    if (!this.subscribed) unsubscribe();
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
    const weight = this.bound.weigh?.(item) ?? 1;
    if (this.queue.length > 0 && this.queuedWeight + weight > this.bound.max) return this.overflow();
    this.queue.push(item);
    this.queuedWeight += weight;
    const taken = new Promise<void>((resolve) => this.taken.push(resolve));
    this.deliver();
    return taken;
  }

  private overflow(): Promise<void> {
    const { overflow } = this.bound;
    if (overflow === "drop") return Promise.resolve();
    this.unsubscribe();
    this.dropQueue();
    this.finish({ error: overflow() });
    return Promise.resolve();
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
    this.queuedWeight = 0;
    this.pendingRelease = this.taken;
    this.taken = [];
    return batch;
  }

  private release(): void {
    for (const resolve of this.pendingRelease.splice(0)) resolve();
  }

  private close(): void {
    if (this.closed && !this.waiting) return;
    this.closed = true;
    this.unsubscribe();
    this.dropQueue();
    const waiting = this.waiting;
    this.waiting = undefined;
    this.failWaiting = undefined;
    waiting?.({ done: true, value: undefined });
  }

  /** Stops the source, once, however the stream ends. */
  private unsubscribe(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.signal.removeEventListener("abort", this.onAbort);
    this.unsubscribeSource?.();
  }

  /** Lets go of what is queued and of the producers waiting on it. */
  private dropQueue(): void {
    this.queue = [];
    this.queuedWeight = 0;
    for (const resolve of [...this.taken.splice(0), ...this.pendingRelease.splice(0)]) resolve();
  }
}

/** The items of a stream of batches, one by one. */
export async function* flatten<T>(batches: AsyncIterable<readonly T[]>): AsyncGenerator<T, void, undefined> {
  for await (const batch of batches) yield* batch;
}
