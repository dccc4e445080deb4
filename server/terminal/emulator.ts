import type { Terminal as XtermTerminal } from "@xterm/headless";
import { bufferRows, bufferText, rangeText, type Point } from "./buffer-text";
import { ProgramState, type ShellState } from "./program-state";
import { liveScrollback, Scrollback } from "./scrollback";
import { SleepingXterm } from "./sleeping-xterm";
import { styledRows, type CellBuffer } from "./styled-rows";

export { cwdFromOsc7, nextShellState, type ShellState } from "./program-state";

/**
 * How screen text is laid out: by default as lines a user would copy (wrapped rows joined);
 * `rows`: one line per row as displayed; `styled`: rows with SGR escapes (implies `rows`).
 */
export interface ScreenForm {
  readonly rows?: boolean;
  readonly styled?: boolean;
}

/** What the program inside asked of the terminal, as far as input encoding is concerned. */
export interface InputModes {
  readonly applicationCursorKeys: boolean;
  readonly bracketedPaste: boolean;
  readonly mouseTracking: "none" | "x10" | "vt200" | "drag" | "any";
  readonly sgrMouse: boolean;
  readonly kittyFlags: number;
  readonly alternateScreen: boolean;
}

export interface EmulatorOptions {
  readonly columns: number;
  readonly rows: number;
  readonly scrollback: number;
  /** How much of the scrollback xterm.js keeps itself (and reflows); the rest is archived compactly. */
  readonly liveScrollback?: number;
  /** Replies the terminal sends the program (cursor reports, kitty flag queries). */
  readonly reply: (data: string) => void;
  /** Called after written data was parsed, or the viewport moved. */
  readonly changed: () => void;
  /** After how long without use the terminal gives up its xterm.js instance; by default never. */
  readonly sleepAfterMs?: number;
}

/**
 * The terminal emulator: @xterm/headless holding screen and scrollback (the older part archived
 * compactly, see scrollback.ts), plus what the program set that xterm.js does not track
 * (program-state.ts). An idle terminal gives up its xterm.js instance (sleeping-xterm.ts).
 */
export class Emulator {
  private readonly xterm: SleepingXterm;
  private readonly scrollback: Scrollback;
  private readonly program: ProgramState;
  private disposed = false;

  constructor(private readonly options: EmulatorOptions) {
    const live = liveScrollback(options.scrollback, options.liveScrollback);
    this.program = new ProgramState({ reply: options.reply, scrollbackErased: () => this.scrollback.forget() });
    this.scrollback = new Scrollback(() => this.term, options.scrollback, live);
    const attach = (term: XtermTerminal): void => {
      term.onData((data) => options.reply(data));
      term.onWriteParsed(() => options.changed());
      this.program.install(term);
      this.scrollback.attach(term);
    };
    this.xterm = new SleepingXterm({ columns: options.columns, rows: options.rows, scrollback: live, attach }, options.sleepAfterMs);
  }

  /** Title from OSC 0/2, if the program set one. */
  get title(): string | undefined {
    return this.program.title;
  }

  /** Working directory from OSC 7, if the shell reports it. */
  get cwd(): string | undefined {
    return this.program.cwd;
  }

  /** Whether the terminal has given up its xterm.js instance until it is next used. */
  get sleeping(): boolean {
    return this.xterm.sleeping;
  }

  /** Gives up the xterm.js instance now if it can be rebuilt exactly; returns whether it was. */
  sleep(): boolean {
    return this.xterm.sleep();
  }

  private get term(): XtermTerminal {
    return this.xterm.term;
  }

  write(data: string | Uint8Array): Promise<void> {
    return this.xterm.write(data);
  }

  /**
   * What redraws the screen as it is on a blank terminal of the same size: home, clear, then the
   * visible cells with their attributes and the cursor where it is. Reflects what was parsed;
   * `write("")` resolves once everything written before it has been.
   */
  redraw(): string {
    return `\x1b[H\x1b[2J${this.xterm.serializer.serialize({ scrollback: 0 })}`;
  }

  resize(columns: number, rows: number): void {
    if (columns === this.columns && rows === this.rows) return;
    this.scrollback.resize(columns, rows);
  }

  get columns(): number {
    return this.xterm.size.columns;
  }

  get rows(): number {
    return this.xterm.size.rows;
  }

  get modes(): InputModes {
    const modes = this.term.modes;
    return {
      applicationCursorKeys: modes.applicationCursorKeysMode,
      bracketedPaste: modes.bracketedPasteMode,
      mouseTracking: modes.mouseTrackingMode,
      sgrMouse: this.program.sgrMouse,
      kittyFlags: this.program.kittyFlags,
      alternateScreen: this.term.buffer.active.type === "alternate",
    };
  }

  get shell(): ShellState {
    return this.program.shell;
  }

  /** Scrollback and screen, laid out as `form` says. */
  contents(form: ScreenForm = {}): string {
    const buffer = this.scrollback.buffer;
    return this.text(buffer, 0, buffer.length, form);
  }

  /** The viewport only. */
  visible(form: ScreenForm = {}): string {
    const top = this.scrollback.viewportTop;
    return this.text(this.scrollback.buffer, top, top + this.term.rows, form);
  }

  private text(buffer: CellBuffer, from: number, to: number, form: ScreenForm): string {
    if (form.styled === true) return styledRows(buffer, from, to);
    if (form.rows === true) return bufferRows(buffer, from, to);
    return bufferText(buffer, from, to, this.cursorPoint());
  }

  /** Text between two buffer points. */
  range(a: Point, b: Point): string {
    return rangeText(this.scrollback.buffer, a, b);
  }

  /** The buffer line at the top of the viewport, and the number of lines in the buffer. */
  get viewport(): { top: number; length: number } {
    return { top: this.scrollback.viewportTop, length: this.scrollback.buffer.length };
  }

  get cursor(): { x: number; y: number } {
    const buffer = this.term.buffer.active;
    return { x: buffer.cursorX, y: buffer.cursorY };
  }

  /** Whether the viewport shows the newest output. */
  get atBottom(): boolean {
    return this.scrollback.atBottom;
  }

  /** Any count is accepted; past either end of the buffer the view stops there. */
  scrollLines(lines: number): void {
    this.scrollback.scrollBy(lines);
    this.options.changed();
  }

  /** A page is the screen's height less one row, as in xterm.js, so one line stays in view. */
  scrollPages(pages: number): void {
    this.scrollLines(Math.trunc(pages) * (this.term.rows - 1));
  }

  scrollToTop(): void {
    this.scrollback.scrollTo(0);
    this.options.changed();
  }

  scrollToBottom(): void {
    this.scrollback.scrollTo(Number.MAX_SAFE_INTEGER);
    this.options.changed();
  }

  /** Clears screen and scrollback, keeping the cursor's line as the first. */
  clear(): void {
    this.term.clear();
    this.scrollback.forget();
    this.options.changed();
  }

  reset(): void {
    this.term.reset();
    this.program.reset();
    this.options.changed();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.xterm.dispose();
  }

  private cursorPoint(): Point {
    return { x: this.term.buffer.active.cursorX, y: this.scrollback.cursorLine };
  }
}
