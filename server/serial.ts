/**
 * One operation at a time per key, in the order they were asked for: a second caller waits for
 * the first to settle (either way) before its own work reads anything. For read-modify-write of
 * shared state (a project's lifecycle, the file queue), which would otherwise lose updates.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  /**
   * `signal`: a caller that stops waiting rejects at once with the abort reason, and its `fn` is
   * skipped when its turn comes, so the operations queued behind it do not wait for it.
   */
  run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const turn = (): Promise<T> => (signal?.aborted ? Promise.reject(signal.reason as Error) : fn());
    const next = previous.then(turn, turn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    if (!signal) return next;
    return new Promise<T>((resolve, reject) => {
      const abort = (): void => reject(signal.reason as Error);
      signal.addEventListener("abort", abort, { once: true });
      next.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
    });
  }
}
