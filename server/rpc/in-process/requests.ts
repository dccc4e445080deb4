/**
 * How many bytes of requests the client may have written before the method has read them, as a
 * stream's HTTP/2 flow-control window lets it: past this, the client's writes wait for the reader.
 */
const WINDOW_BYTES = 64 * 1024;

interface Queued {
  readonly request: unknown;
  readonly bytes: number;
  /** Tells the client its write was taken; cleared before it is called, since the client may write again inside it. */
  accept: (() => void) | undefined;
}

function accept(queued: Queued): void {
  const told = queued.accept;
  queued.accept = undefined;
  told?.();
}

type Waiter = { resolve: (result: IteratorResult<unknown>) => void; reject: (err: Error) => void };

/**
 * The requests an in-process client streams to a method, read by the method as an async iterator:
 * they end when the client half-closes, and fail when it goes away. A method that stops reading
 * holds the client back once a window's worth is waiting.
 */
export class RequestQueue implements AsyncIterator<unknown> {
  private readonly queued: Queued[] = [];
  private waiter: Waiter | undefined;
  private ended = false;
  private failure: Error | undefined;

  push(request: unknown, bytes: number, taken: () => void): void {
    if (this.ended || this.failure !== undefined) return taken();
    if (this.waiter) {
      this.take().resolve({ value: request, done: false });
      return taken();
    }
    this.queued.push({ request, bytes, accept: taken });
    this.acceptWithinWindow();
  }

  /** The client's half-close: the requests end once those queued are read. */
  end(): void {
    this.ended = true;
    if (this.queued.length === 0 && this.waiter) this.take().resolve({ value: undefined, done: true });
  }

  /** The client went away: what is queued is dropped, and reading fails with `err`. */
  fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const queued of this.queued.splice(0)) accept(queued);
    if (this.waiter) this.take().reject(err);
  }

  next(): Promise<IteratorResult<unknown>> {
    const first = this.queued.shift();
    if (first) {
      accept(first);
      this.acceptWithinWindow();
      return Promise.resolve({ value: first.request, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private take(): Waiter {
    const waiter = this.waiter as Waiter;
    this.waiter = undefined;
    return waiter;
  }

  /** Tells the client its writes were taken for as many queued requests as the window holds. */
  private acceptWithinWindow(): void {
    let bytes = 0;
    for (const queued of this.queued) {
      bytes += queued.bytes;
      if (bytes > WINDOW_BYTES) return;
      accept(queued);
    }
  }
}
