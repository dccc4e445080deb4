/**
 * The daemon's most recent log lines, kept in memory for `GET /api/v1/logs` and the event stream:
 * a pino destination beside stdout. Bounded by lines and by bytes, oldest dropped first.
 */
export class LogRing {
  private readonly lines: string[] = [];
  private bytes = 0;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(
    private readonly maxLines = 1000,
    private readonly maxBytes = 1024 * 1024,
  ) {}

  /** What pino calls with each serialized line (a JSON object and a newline). */
  write(chunk: string): void {
    const line = chunk.endsWith("\n") ? chunk.slice(0, -1) : chunk;
    this.lines.push(line);
    this.bytes += line.length;
    while (this.lines.length > this.maxLines || (this.bytes > this.maxBytes && this.lines.length > 1)) this.bytes -= this.lines.shift()?.length ?? 0;
    for (const listener of this.listeners) listener(line);
  }

  /** The last `count` lines, oldest first. */
  recent(count = this.maxLines): string[] {
    return count <= 0 ? [] : this.lines.slice(-count);
  }

  /** Hears each line as it is written; returns the unsubscribe. */
  onLine(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
