import type { SpawnOptions } from "./pty-host/protocol";

export type { SpawnOptions };

/**
 * What a terminal needs of whatever runs its PTYs. The daemon passes the worker-thread host
 * (pty-host/host.ts); unit tests pass a fake, so layout, actions and waiting run without processes.
 */
export interface PtyHost {
  /** Starts `options.file` on a new PTY; rejects when it cannot be started. */
  spawn(options: SpawnOptions, events: PtyEvents): Promise<PtyHandle>;
}

/** One PTY, as a terminal drives it. */
export interface PtyHandle {
  readonly pid: number;
  /** A string goes as UTF-8; bytes go as they are (legacy mouse reports are not UTF-8). */
  write(data: string | Uint8Array): void;
  resize(columns: number, rows: number): void;
  kill(signal: string): void;
  /** Flow control: stop reading while the emulator catches up, then go on. */
  pause(): void;
  resume(): void;
}

/** What a PTY reports: its output, and once, its exit. */
export interface PtyEvents {
  data(chunk: Uint8Array): void;
  exit(exitCode: number, signal: number): void;
}
