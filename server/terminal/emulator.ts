import { SerializeAddon } from "@xterm/addon-serialize";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { Terminal as XtermTerminal } from "@xterm/headless";
import { bufferRows, bufferText, rangeText, type Point } from "./buffer-text";
import { liveScrollback, Scrollback } from "./scrollback";
import { styledRows, type CellBuffer } from "./styled-rows";

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

/** What OSC 133 shell integration marks say about the shell. */
export interface ShellState {
  /** Whether any mark was ever seen: without them, nothing below is known. */
  readonly integrated: boolean;
  readonly atPrompt: boolean;
  readonly lastExitCode: number | undefined;
  /** Counts prompts shown (mark A), to tell a new prompt from an old one. */
  readonly prompts: number;
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
}

/**
 * The terminal emulator: @xterm/headless holding screen and scrollback, plus what xterm.js does
 * not track itself: OSC 7 (working directory), OSC 133 (shell integration), SGR mouse mode and the
 * kitty keyboard protocol's flag stack.
 */
export class Emulator {
  private readonly term: XtermTerminal;
  private readonly scrollback: Scrollback;
  private readonly serializer = new SerializeAddon();
  private kittyStack: number[] = [];
  private sgrMouse = false;
  private disposed = false;
  private shellState: ShellState = { integrated: false, atPrompt: false, lastExitCode: undefined, prompts: 0 };
  /** Title from OSC 0/2, if the program set one. */
  title: string | undefined;
  /** Working directory from OSC 7, if the shell reports it. */
  cwd: string | undefined;

  constructor(private readonly options: EmulatorOptions) {
    const live = liveScrollback(options.scrollback, options.liveScrollback);
    this.term = new XtermTerminal({ cols: options.columns, rows: options.rows, scrollback: live, allowProposedApi: true });
    this.scrollback = new Scrollback(this.term, options.scrollback, live);
    // Unicode 11 widths, as glibc's wcwidth (so readline) and tmux count them: an emoji takes two
    // cells. xterm's default, Unicode 6, gives most emoji one, and the shell's cursor and ours part.
    this.term.loadAddon(new Unicode11Addon());
    this.term.loadAddon(this.serializer);
    this.term.unicode.activeVersion = "11";
    this.term.onData((data) => options.reply(data));
    this.term.onTitleChange((title) => (this.title = title));
    this.term.onWriteParsed(() => options.changed());
    const parser = this.term.parser;
    parser.registerOscHandler(7, (data) => {
      this.cwd = cwdFromOsc7(data) ?? this.cwd;
      return true;
    });
    parser.registerOscHandler(133, (data) => {
      this.shellState = nextShellState(this.shellState, data);
      return true;
    });
    const decset = (on: boolean) => (params: (number | number[])[]) => {
      if (params.includes(1006)) this.sgrMouse = on;
      return false;
    };
    parser.registerCsiHandler({ prefix: "?", final: "h" }, decset(true));
    parser.registerCsiHandler({ prefix: "?", final: "l" }, decset(false));
    parser.registerCsiHandler({ prefix: ">", final: "u" }, (params) => {
      this.kittyStack.push(first(params, 0));
      return true;
    });
    parser.registerCsiHandler({ prefix: "<", final: "u" }, (params) => {
      this.kittyStack.splice(Math.max(0, this.kittyStack.length - first(params, 1)));
      return true;
    });
    parser.registerCsiHandler({ prefix: "=", final: "u" }, (params) => {
      const flags = first(params, 0);
      const mode = typeof params[1] === "number" ? params[1] : 1;
      const top = this.kittyFlags();
      const next = mode === 2 ? top | flags : mode === 3 ? top & ~flags : flags;
      if (this.kittyStack.length === 0) this.kittyStack.push(next);
      else this.kittyStack[this.kittyStack.length - 1] = next;
      return true;
    });
    parser.registerCsiHandler({ prefix: "?", final: "u" }, () => {
      options.reply(`\x1b[?${this.kittyFlags()}u`);
      return true;
    });
    // Erasing the scrollback (ED 3) erases the archived part too.
    parser.registerCsiHandler({ final: "J" }, (params) => {
      if (params.includes(3) && this.term.buffer.active.type === "normal") this.scrollback.forget();
      return false;
    });
    // A full reset (RIS) forgets what xterm.js does not track either.
    parser.registerEscHandler({ final: "c" }, () => {
      this.resetOwnState();
      return false;
    });
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve) => this.term.write(data, resolve));
  }

  /**
   * What redraws the screen as it is on a blank terminal of the same size: home, clear, then the
   * visible cells with their attributes and the cursor where it is. Reflects what was parsed;
   * `write("")` resolves once everything written before it has been.
   */
  redraw(): string {
    return `\x1b[H\x1b[2J${this.serializer.serialize({ scrollback: 0 })}`;
  }

  resize(columns: number, rows: number): void {
    if (columns === this.term.cols && rows === this.term.rows) return;
    this.scrollback.resize(columns, rows);
  }

  get columns(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  get modes(): InputModes {
    const modes = this.term.modes;
    return {
      applicationCursorKeys: modes.applicationCursorKeysMode,
      bracketedPaste: modes.bracketedPasteMode,
      mouseTracking: modes.mouseTrackingMode,
      sgrMouse: this.sgrMouse,
      kittyFlags: this.kittyFlags(),
      alternateScreen: this.term.buffer.active.type === "alternate",
    };
  }

  get shell(): ShellState {
    return this.shellState;
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
    this.resetOwnState();
    this.options.changed();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.term.dispose();
  }

  private kittyFlags(): number {
    return this.kittyStack[this.kittyStack.length - 1] ?? 0;
  }

  private resetOwnState(): void {
    this.scrollback.forget();
    this.kittyStack = [];
    this.sgrMouse = false;
    this.title = undefined;
  }

  private cursorPoint(): Point {
    return { x: this.term.buffer.active.cursorX, y: this.scrollback.cursorLine };
  }
}

/** The first CSI parameter; xterm.js reports a missing one as 0. */
function first(params: (number | number[])[], fallback: number): number {
  const value = params[0];
  const n = Array.isArray(value) ? value[0] : value;
  return typeof n === "number" && n > 0 ? n : fallback;
}

/** `file://host/path` (percent-encoded) as a path. */
export function cwdFromOsc7(data: string): string | undefined {
  try {
    const url = new URL(data);
    if (url.protocol !== "file:") return undefined;
    return decodeURIComponent(url.pathname) || "/";
  } catch {
    return undefined;
  }
}

/** OSC 133: A prompt start, B input start, C command start, D;<code> command finished. */
export function nextShellState(state: ShellState, data: string): ShellState {
  const [mark, ...params] = data.split(";");
  switch (mark) {
    case "A":
      return { ...state, integrated: true, atPrompt: true, prompts: state.prompts + 1 };
    case "B":
      return { ...state, integrated: true, atPrompt: true };
    case "C":
      return { ...state, integrated: true, atPrompt: false };
    case "D": {
      const code = params.find((p) => /^-?\d+$/.test(p));
      return { ...state, integrated: true, lastExitCode: code === undefined ? state.lastExitCode : Number(code) };
    }
    default:
      return state;
  }
}
