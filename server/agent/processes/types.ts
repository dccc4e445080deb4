/** What callers of the process table see: its requests, answers and events. */

export interface StartOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** `~`, `~/x`, absolute, or relative to the agent user's home (as exec takes it); the home when absent. */
  readonly cwd?: string | undefined;
  /** Laid over the agent's own environment. */
  readonly env: Readonly<Record<string, string>>;
  /** A name to find the process by; unique among running processes. */
  readonly tag?: string | undefined;
  /** Run on a PTY of this size instead of pipes. */
  readonly pty?: { readonly cols: number; readonly rows: number } | undefined;
}

export interface ProcessInfo {
  readonly pid: number;
  /** "" when none was given. */
  readonly tag: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly pty: boolean;
  readonly running: boolean;
  /** Set once it has exited: its code, or 128 + the signal that killed it. */
  readonly exitCode?: number;
  readonly startedAt: Date;
}

export type ProcessSelector = { readonly pid: number } | { readonly tag: string };

export type OutputKind = "stdout" | "stderr" | "pty";

export type ProcessEvent =
  | { readonly kind: "start"; readonly pid: number }
  | { readonly kind: OutputKind; readonly data: Buffer }
  | { readonly kind: "end"; readonly exitCode: number; readonly signal?: string };

/** The signals a client may send: the ones that stop, interrupt or pause a program, or that programs take as commands. */
export const PROCESS_SIGNALS = ["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT", "SIGWINCH"] as const;

export type ProcessSignal = (typeof PROCESS_SIGNALS)[number];
