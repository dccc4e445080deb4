/** What happened to an entry, in fsnotify's (and so E2B envd's) terms. */
export type WatchEventType = "create" | "write" | "remove" | "rename" | "chmod";

export interface WatchEvent {
  readonly type: WatchEventType;
  /** The entry's path relative to the watched directory: "notes.txt", "src/main.ts". */
  readonly name: string;
  /** The entry's absolute path. */
  readonly path: string;
}

export interface WatchOptions {
  /** Also watch every subdirectory, present and future. */
  readonly recursive: boolean;
}

/** Where a running watch sends what it sees. */
export interface WatchSink {
  /** False when the sink takes no more (its bound passed): the watch stops. */
  events(events: readonly WatchEvent[]): boolean;
  /** The watch has stopped with this error, after the events sent before it. */
  fail(err: Error): void;
}
