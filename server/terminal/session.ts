import { existsSync, statSync } from "node:fs";
import { Emulator } from "./emulator";
import { foregroundGroup, processCwd, processName, sessionMembers, signalQuietly } from "../proc";
import type { PtyHandle, PtyHost } from "./pty";
import { terminalError } from "./reasons";

export interface SessionOptions {
  readonly id: string;
  readonly kind: "normal" | "quick";
  readonly shell: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly columns: number;
  readonly rows: number;
  readonly scrollback: number;
  /** Typed once the shell is ready, followed by `; exit`, so the terminal ends with it. */
  readonly command: string | undefined;
  readonly fontSize: number;
}

/** Parsing falls this far behind the program before the PTY is paused. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 512 * 1024;
/** If a shell prints nothing at all, a command is typed anyway after this long. */
const READY_FALLBACK_MS = 3000;
/** After SIGHUP, how long the shell's session has before it is killed. */
const HANGUP_GRACE_MS = 2000;
/**
 * A terminal unused this long gives up its xterm.js instance (about 200 KiB) until next used,
 * which rebuilds it in under a millisecond. Long enough that a terminal being driven or watched
 * stays awake, short enough that the many an agent leaves at their prompts cost little.
 */
const SLEEP_AFTER_MS = 10_000;

/**
 * One terminal: a shell on a PTY feeding an emulator, and the state the API keeps for it
 * (title override, font size, counters for `wait`).
 */
export class Session {
  readonly id: string;
  readonly kind: "normal" | "quick";
  readonly emulator: Emulator;
  private pty: PtyHandle | undefined;
  private pending = 0;
  private paused = false;
  private exitCode: number | undefined;
  private resolveExit: () => void = () => undefined;
  private readonly exited = new Promise<void>((resolve) => (this.resolveExit = resolve));
  private resolveReady: () => void = () => undefined;
  private readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));
  private readonly listeners = new Set<() => void>();
  private readonly outputTaps = new Set<(chunk: Uint8Array) => void>();
  /** Set by `set_surface_title:`; wins over the program's title. */
  titleOverride: string | undefined;
  fontSize: number;
  /** The count of prompts (OSC 133;A) when Enter was last sent, to tell a newer prompt. */
  promptsAtLastEnter = 0;

  /** Starts the shell on a PTY of `host`; `onExit` hears when it ends on its own. */
  static async start(host: PtyHost, options: SessionOptions, onExit: (session: Session) => void): Promise<Session> {
    if (!existsSync(options.cwd) || !statSync(options.cwd).isDirectory()) {
      throw terminalError("invalid_argument", `working_directory ${options.cwd} is not a directory`);
    }
    const session = new Session(options);
    try {
      session.pty = await host.spawn(
        { file: options.shell, args: ["-l"], cwd: options.cwd, env: options.env, columns: options.columns, rows: options.rows },
        {
          data: (chunk) => {
            session.resolveReady();
            for (const tap of session.outputTaps) tap(chunk);
            void session.feed(chunk);
          },
          exit: (exitCode) => {
            session.exitCode = exitCode;
            session.resolveReady();
            session.resolveExit();
            onExit(session);
            session.notify();
          },
        },
      );
    } catch (err) {
      session.emulator.dispose();
      throw terminalError("spawn_failed", `cannot start ${options.shell}: ${(err as Error).message}`);
    }
    if (options.command !== undefined) session.typeWhenReady(options.command);
    return session;
  }

  private constructor(options: SessionOptions) {
    this.id = options.id;
    this.kind = options.kind;
    this.fontSize = options.fontSize;
    this.emulator = new Emulator({
      columns: options.columns,
      rows: options.rows,
      scrollback: options.scrollback,
      reply: (data) => this.write(data),
      changed: () => this.notify(),
      sleepAfterMs: SLEEP_AFTER_MS,
    });
  }

  get pid(): number {
    return this.pty?.pid ?? 0;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** The shell's exit code once it has ended. */
  get exitStatus(): number | undefined {
    return this.exitCode;
  }

  /** Hears the program's output bytes as they come, before the emulator parses them; returns the unsubscribe. */
  tapOutput(tap: (chunk: Uint8Array) => void): () => void {
    this.outputTaps.add(tap);
    return () => this.outputTaps.delete(tap);
  }

  /** Bytes to the program, as if typed. */
  write(data: string | Uint8Array): void {
    if (this.exitCode === undefined) this.pty?.write(data);
  }

  /** Input from the API's user; an Enter among it is remembered for `wait until: prompt`. */
  send(data: string): void {
    if (/[\r\n]/.test(data)) this.promptsAtLastEnter = this.emulator.shell.prompts;
    this.write(data);
  }

  /** Bytes to the emulator, as if the program had written them. */
  feed(data: Uint8Array | string): Promise<void> {
    const size = data.length;
    this.pending += size;
    if (!this.paused && this.pending > HIGH_WATER) {
      this.paused = true;
      this.pty?.pause();
    }
    return this.emulator.write(data).then(() => {
      this.pending -= size;
      if (this.paused && this.pending < LOW_WATER) {
        this.paused = false;
        this.pty?.resume();
      }
    });
  }

  resize(columns: number, rows: number): void {
    if (columns === this.emulator.columns && rows === this.emulator.rows) return;
    this.emulator.resize(columns, rows);
    if (this.exitCode === undefined) this.pty?.resize(columns, rows);
  }

  /** Called after output was parsed, the viewport moved, or the shell exited; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The title: what the API set, else what the program set, else the foreground process's name. */
  get title(): string {
    return this.titleOverride ?? this.emulator.title ?? processName(foregroundGroup(this.pid) ?? this.pid) ?? processName(this.pid) ?? "";
  }

  /** The working directory: OSC 7 when the shell reports it, else the foreground process's. */
  get workingDirectory(): string | undefined {
    return this.emulator.cwd ?? processCwd(foregroundGroup(this.pid) ?? this.pid) ?? processCwd(this.pid);
  }

  /**
   * Closes the terminal: SIGHUP to the shell, as a terminal window closing sends, then after a
   * grace period SIGKILL to whatever of its session is left. Resolves once nothing of it runs.
   */
  async close(): Promise<void> {
    if (this.exitCode === undefined) {
      this.pty?.kill("SIGHUP");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, HANGUP_GRACE_MS)))]);
      clearTimeout(timer);
    }
    this.killSession();
    await this.exited;
    this.emulator.dispose();
  }

  /** SIGKILL to every process still in the shell's session. */
  killSession(): void {
    for (const pid of sessionMembers(this.pid)) signalQuietly(pid, "SIGKILL");
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Types the command once the shell has said something (it is ready), or after a fallback delay. */
  private typeWhenReady(command: string): void {
    const fallback = setTimeout(() => this.resolveReady(), READY_FALLBACK_MS);
    void this.ready.then(() => {
      clearTimeout(fallback);
      this.write(`${command}; exit\n`);
    });
  }
}
