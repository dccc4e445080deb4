import { constants } from "node:os";
import type { OutputKind } from "./types";

/** How a process ended: its code, or 128 + the signal that killed it (as exec reports it), with that signal's name. */
export interface ExitStatus {
  readonly exitCode: number;
  readonly signal?: string;
}

/** What a started process reports; `exit` comes once, after the last output. */
export interface ChildEvents {
  output(kind: OutputKind, data: Buffer): void;
  exit(status: ExitStatus): void;
}

/** One started process as the table drives it, whether on pipes or on a PTY. */
export interface Child {
  readonly pid: number;
  readonly pty: boolean;
  write(data: Buffer): void;
  closeStdin(): void;
  resize(cols: number, rows: number): void;
  /** Lets go of what the process's end leaves open (its pipes). */
  dispose(): void;
}

export function statusFromSignal(signal: NodeJS.Signals): ExitStatus {
  return { exitCode: 128 + constants.signals[signal], signal };
}

/** A signal as a number (what a PTY's exit reports), by name; undefined for 0, which is no signal. */
export function signalName(signal: number): NodeJS.Signals | undefined {
  if (signal === 0) return undefined;
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === signal);
}

/**
 * Sends a signal to the process's group: each process leads a group of its own (pipes: spawned
 * detached; PTY: leader of the PTY's session), so what it started in the foreground gets it too,
 * as a shell's Ctrl-C reaches a whole pipeline. False when the group is gone.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}
