/**
 * One operation at a time per key, in the order they were asked for: a second caller waits for
 * the first to settle (either way) before its own work reads anything. For read-modify-write of
 * shared state (a project's lifecycle, the file queue), which would otherwise lose updates.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }
}
