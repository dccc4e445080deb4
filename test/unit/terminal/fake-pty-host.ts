import { ClipboardStore } from "../../../server/clipboard/store";
import type { PtyEvents, PtyHandle, PtyHost, SpawnOptions } from "../../../server/terminal/pty";
import pino from "pino";
import { daemonOptions } from "../../../cli/settings/daemon-options";
import { readSettings } from "../../../cli/settings/schema";
import { DEFAULT_TERMINAL_SETTINGS, Terminals, type TerminalSettings } from "../../../server/terminal/terminals";

/**
 * Above the largest pid Linux hands out (2^22), so the /proc lookups a session makes for its
 * title, working directory and leftover processes find nothing, and never a real process.
 */
const FIRST_PID = 5_000_000;

/** A PTY with nothing on it: records what the terminal did to it, and lets a test play the program. */
export class FakePty implements PtyHandle {
  /** Each write as given; bytes as Latin-1 text, one character per byte. */
  readonly writes: string[] = [];
  /** Each write as the program reads it: text as UTF-8. */
  readonly bytes: Buffer[] = [];
  readonly sizes: [columns: number, rows: number][] = [];
  readonly signals: string[] = [];
  paused = false;
  /** A shell exits on SIGHUP; a test sets this to play one that does not. */
  ignoresHangup = false;
  private exited = false;

  constructor(
    readonly pid: number,
    readonly options: SpawnOptions,
    private readonly events: PtyEvents,
  ) {}

  /** Everything written to the program so far, as one string. */
  get written(): string {
    return this.writes.join("");
  }

  write(data: string | Uint8Array): void {
    this.writes.push(typeof data === "string" ? data : Buffer.from(data).toString("latin1"));
    this.bytes.push(typeof data === "string" ? Buffer.from(data) : Buffer.from(data));
  }

  resize(columns: number, rows: number): void {
    this.sizes.push([columns, rows]);
  }

  kill(signal: string): void {
    this.signals.push(signal);
    // Later, as a real exit arrives from the host thread after the kill.
    if (signal !== "SIGHUP" || !this.ignoresHangup) setImmediate(() => this.exit(0, signal === "SIGHUP" ? 1 : 9));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Output of the program, as the terminal reads it from the PTY. */
  print(text: string): void {
    if (!this.exited) this.events.data(new TextEncoder().encode(text));
  }

  /** The program ends. */
  exit(exitCode = 0, signal = 0): void {
    if (this.exited) return;
    this.exited = true;
    this.events.exit(exitCode, signal);
  }
}

export class FakePtyHost implements PtyHost {
  readonly ptys: FakePty[] = [];
  /** The next spawn fails with this message, as a missing shell would. */
  failNext: string | undefined;
  private nextPid = FIRST_PID;

  spawn(options: SpawnOptions, events: PtyEvents): Promise<PtyHandle> {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure !== undefined) return Promise.reject(new Error(failure));
    const pty = new FakePty(this.nextPid++, options, events);
    this.ptys.push(pty);
    return Promise.resolve(pty);
  }

  /** The PTY of a terminal, found by the id the terminal puts in its shell's environment. */
  pty(terminalId: string): FakePty {
    const pty = this.ptys.find((p) => p.options.env.GHOSTD_TERMINAL_ID === terminalId);
    if (!pty) throw new Error(`no PTY was spawned for terminal ${terminalId}`);
    return pty;
  }
}

/** The daemon's defaults, read from its settings schema as `ghostd serve` reads them with no flags. */
const DAEMON_DEFAULTS = daemonOptions("serve", readSettings({}), pino({ level: "silent" })).server?.terminals;

export const TEST_SETTINGS: TerminalSettings = { ...DEFAULT_TERMINAL_SETTINGS, ...DAEMON_DEFAULTS!, shell: undefined, env: { PATH: "/usr/bin:/bin" } };

/** Terminals over a fake host, and the clipboard they copy to. Close them with `terminals.closeAll()`. */
export function fakeTerminals(settings: Partial<TerminalSettings> = {}): { terminals: Terminals; host: FakePtyHost; clipboard: ClipboardStore } {
  const host = new FakePtyHost();
  const clipboard = new ClipboardStore();
  return { terminals: new Terminals({ ...TEST_SETTINGS, ...settings }, clipboard, host), host, clipboard };
}
