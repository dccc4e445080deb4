import { EventEmitter } from "node:events";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { eventStream, type EventSink, type QueueBound } from "../event-stream";
import { supervisorError } from "./reasons";
import { SecretMask } from "./secret-mask";

export interface LogLine {
  readonly timestamp: Date;
  readonly service: string;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
}

/** Longer lines are cut, so one runaway line cannot fill a file. */
const MAX_LINE = 16 * 1024;

/**
 * What a follower may fall behind by while its service keeps writing: then its stream ends (it
 * can follow again with a tail) rather than the daemon holding the service's output for a client
 * that is not reading it.
 */
const FOLLOW_QUEUE_BYTES = 4 * 1024 * 1024;
const FOLLOW_QUEUE: QueueBound<LogLine[]> = {
  max: FOLLOW_QUEUE_BYTES,
  // A line's text, and about what its object and timestamp cost beside it.
  weigh: (lines) => lines.reduce((bytes, line) => bytes + line.line.length + 100, 0),
  overflow: () => supervisorError("READER_TOO_SLOW", `the follower fell more than ${FOLLOW_QUEUE_BYTES} bytes of log lines behind; follow again, with tail_lines for what it missed`),
};

/**
 * A project's service logs: one file of JSON lines per service, rotated at a size cap (the current
 * file and one older), read back across services in time order, and followed as lines come.
 */
export class ProjectLogs {
  private readonly events = new EventEmitter();
  private readonly partial = new Map<string, string>();
  /** Per stream: a character whose UTF-8 bytes two chunks share is decoded whole, so a secret holding it still matches. */
  private readonly decoders = new Map<string, StringDecoder>();
  private mask = new SecretMask([]);
  private readonly sizes = new Map<string, number>();

  constructor(
    readonly dir: string,
    private readonly maxBytes = 1024 * 1024,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Takes a chunk of a service's output; whole lines are stored, the rest waits for its end. */
  write(service: string, stream: "stdout" | "stderr", chunk: Buffer | string): void {
    const key = `${service}\0${stream}`;
    const text = (this.partial.get(key) ?? "") + (typeof chunk === "string" ? chunk : this.decoderOf(key).write(chunk));
    const lines = text.split("\n");
    let rest = lines.pop() ?? "";
    if (rest.length > MAX_LINE) {
      // A runaway line is stored (cut) before its end comes. Its last characters wait for the
      // next chunk, since they may begin a secret that chunk ends.
      const [head, tail] = this.mask.holdBack(rest);
      // A secret longer than a line can keep back all of it: then nothing is stored yet.
      if (head !== "") lines.push(head);
      rest = tail;
    }
    this.partial.set(key, rest);
    this.store(service, stream, lines.map((line) => line.replace(/\r$/, "")));
  }

  /** Stores what is left of a service's unfinished lines (when it exits). */
  flush(service: string): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const key = `${service}\0${stream}`;
      const rest = (this.partial.get(key) ?? "") + (this.decoders.get(key)?.end() ?? "");
      this.partial.delete(key);
      this.decoders.delete(key);
      if (rest) this.store(service, stream, [rest]);
    }
  }

  /**
   * Values that never reach a log file or a follower (a service that prints its secrets): each,
   * and its common encodings (`secret-mask.ts`), is replaced by `***`. Very short values are left,
   * as masking them would garble every line.
   */
  redact(values: Iterable<string>): void {
    this.mask = new SecretMask(values);
  }

  /** A line of the supervisor's own about a service (started, exited, restarted). */
  note(service: string, message: string): void {
    this.store(service, "stderr", [`[ghostd] ${message}`]);
  }

  /** The last `count` lines across services (or one), oldest first. */
  tail(count: number, service?: string): LogLine[] {
    if (count <= 0 || !existsSync(this.dir)) return [];
    const lines: (LogLine & { order: number })[] = [];
    let order = 0;
    for (const name of service === undefined ? this.services() : [service]) {
      for (const file of [`${name}.log.1`, `${name}.log`]) {
        const path = join(this.dir, file);
        if (!existsSync(path)) continue;
        const entries = readFileSync(path, "utf8").split("\n");
        for (const entry of entries.slice(Math.max(0, entries.length - count - 1))) {
          const parsed = parse(name, entry);
          if (parsed) lines.push({ ...parsed, order: order++ });
        }
      }
    }
    lines.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a.order - b.order);
    return lines.slice(-count).map(({ order: _order, ...line }) => line);
  }

  /**
   * The last `tail` lines (across services, or of one), then, with `follow`, the lines stored
   * from now on, in batches, until `signal` aborts.
   */
  async *read(tail: number, service: string | undefined, follow: boolean, signal: AbortSignal): AsyncGenerator<LogLine[]> {
    const wanted = (line: LogLine): boolean => service === undefined || line.service === service;
    // Subscribed before the tail is read (both synchronous), so no line falls between the two.
    const subscribe = (sink: EventSink<LogLine[]>): (() => void) => this.follow((lines) => void sink.push(lines.filter(wanted)));
    const followed = follow ? eventStream(signal, subscribe, FOLLOW_QUEUE)[Symbol.asyncIterator]() : undefined;
    const pending = followed?.next();
    try {
      yield this.tail(tail, service);
      if (!followed || !pending) return;
      for (let step = await pending; !step.done; step = await followed.next()) yield step.value.flat();
    } finally {
      await followed?.return?.();
    }
  }

  /** Calls `listener` with every line stored from now on; returns the unsubscribe. */
  follow(listener: (lines: LogLine[]) => void): () => void {
    this.events.on("lines", listener);
    return () => this.events.off("lines", listener);
  }

  /** Deletes the files; returns what it deleted. */
  remove(): string[] {
    if (!existsSync(this.dir)) return [];
    const files = this.services().flatMap((name) => [`${name}.log`, `${name}.log.1`]).map((f) => join(this.dir, f)).filter((f) => existsSync(f));
    rmSync(this.dir, { recursive: true, force: true });
    this.sizes.clear();
    return files;
  }

  private services(): string[] {
    if (!existsSync(this.dir)) return [];
    const names = new Set<string>();
    for (const file of readdir(this.dir)) {
      const match = /^(.+)\.log(\.1)?$/.exec(file);
      if (match?.[1]) names.add(match[1]);
    }
    return [...names].sort();
  }

  private store(service: string, stream: "stdout" | "stderr", raw: string[]): void {
    if (raw.length === 0) return;
    // Masked before the cut, so that a secret the cut goes through is masked whole.
    const lines = raw.map((line) => this.mask.apply(line).slice(0, MAX_LINE));
    const timestamp = new Date();
    const t = timestamp.toISOString();
    const s = stream === "stdout" ? "o" : "e";
    const text = lines.map((l) => `${JSON.stringify({ t, s, l })}\n`).join("");
    const file = join(this.dir, `${service}.log`);
    const bytes = Buffer.byteLength(text);
    // The current file's size is kept here: a chatty service would otherwise cost a stat per chunk.
    let size = this.sizes.get(service);
    if (size === undefined) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    }
    if (size > 0 && size + bytes > this.maxBytes) {
      renameSync(file, `${file}.1`);
      size = 0;
    }
    try {
      appendFileSync(file, text, { mode: 0o600 });
    } catch (err) {
      // The directory went (removed by hand): make it again. Anything else (a full disk) loses
      // these lines from the file, never the daemon; followers still get them.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") return this.emit(service, stream, timestamp, lines);
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      appendFileSync(file, text, { mode: 0o600 });
      size = 0;
    }
    this.sizes.set(service, size + bytes);
    this.emit(service, stream, timestamp, lines);
  }

  private decoderOf(key: string): StringDecoder {
    let decoder = this.decoders.get(key);
    if (!decoder) {
      decoder = new StringDecoder("utf8");
      this.decoders.set(key, decoder);
    }
    return decoder;
  }

  private emit(service: string, stream: "stdout" | "stderr", timestamp: Date, lines: readonly string[]): void {
    this.events.emit("lines", lines.map((line) => ({ timestamp, service, stream, line })));
  }
}

function readdir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function parse(service: string, entry: string): LogLine | undefined {
  if (entry === "") return undefined;
  try {
    const value = JSON.parse(entry) as { t?: string; s?: string; l?: string };
    if (typeof value.t !== "string" || typeof value.l !== "string") return undefined;
    return { timestamp: new Date(value.t), service, stream: value.s === "o" ? "stdout" : "stderr", line: value.l };
  } catch {
    return undefined;
  }
}

/** One log book per project under `dir`, whether it runs or not, so followers see the next start too. */
export class LogBooks {
  private readonly books = new Map<string, ProjectLogs>();

  constructor(private readonly dir: string) {}

  of(projectId: string): ProjectLogs {
    let logs = this.books.get(projectId);
    if (!logs) {
      logs = new ProjectLogs(join(this.dir, projectId));
      this.books.set(projectId, logs);
    }
    return logs;
  }
}
