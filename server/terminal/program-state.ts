import type { Terminal as XtermTerminal } from "@xterm/headless";

/** What OSC 133 shell integration marks say about the shell. */
export interface ShellState {
  /** Whether any mark was ever seen: without them, nothing below is known. */
  readonly integrated: boolean;
  readonly atPrompt: boolean;
  readonly lastExitCode: number | undefined;
  /** Counts prompts shown (mark A), to tell a new prompt from an old one. */
  readonly prompts: number;
}

interface ProgramStateHooks {
  /** Replies the terminal sends the program (kitty flag queries). */
  readonly reply: (data: string) => void;
  /** The program erased the scrollback (ED 3) on the normal screen. */
  readonly scrollbackErased: () => void;
}

/**
 * What the program tells its terminal that xterm.js does not keep, or that must outlive one
 * xterm.js instance: OSC 7 (working directory), OSC 133 (shell integration), the title, SGR
 * mouse mode and the kitty keyboard protocol's flag stack. `install` hooks it to an instance.
 */
export class ProgramState {
  kittyStack: number[] = [];
  sgrMouse = false;
  shell: ShellState = { integrated: false, atPrompt: false, lastExitCode: undefined, prompts: 0 };
  /** Title from OSC 0/2, if the program set one. */
  title: string | undefined;
  /** Working directory from OSC 7, if the shell reports it. */
  cwd: string | undefined;

  constructor(private readonly hooks: ProgramStateHooks) {}

  get kittyFlags(): number {
    return this.kittyStack[this.kittyStack.length - 1] ?? 0;
  }

  install(term: XtermTerminal): void {
    term.onTitleChange((title) => (this.title = title));
    const parser = term.parser;
    parser.registerOscHandler(7, (data) => {
      this.cwd = cwdFromOsc7(data) ?? this.cwd;
      return true;
    });
    parser.registerOscHandler(133, (data) => {
      this.shell = nextShellState(this.shell, data);
      return true;
    });
    const decset = (on: boolean) => (params: (number | number[])[]) => {
      if (params.includes(1006)) this.sgrMouse = on;
      return false;
    };
    parser.registerCsiHandler({ prefix: "?", final: "h" }, decset(true));
    parser.registerCsiHandler({ prefix: "?", final: "l" }, decset(false));
    this.installKitty(term);
    // Erasing the scrollback (ED 3) erases the archived part too.
    parser.registerCsiHandler({ final: "J" }, (params) => {
      if (params.includes(3) && term.buffer.active.type === "normal") this.hooks.scrollbackErased();
      return false;
    });
    // A full reset (RIS) forgets what xterm.js does not track either.
    parser.registerEscHandler({ final: "c" }, () => {
      this.reset();
      return false;
    });
  }

  reset(): void {
    this.hooks.scrollbackErased();
    this.kittyStack = [];
    this.sgrMouse = false;
    this.title = undefined;
  }

  private installKitty(term: XtermTerminal): void {
    const parser = term.parser;
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
      const top = this.kittyFlags;
      const next = mode === 2 ? top | flags : mode === 3 ? top & ~flags : flags;
      if (this.kittyStack.length === 0) this.kittyStack.push(next);
      else this.kittyStack[this.kittyStack.length - 1] = next;
      return true;
    });
    parser.registerCsiHandler({ prefix: "?", final: "u" }, () => {
      this.hooks.reply(`\x1b[?${this.kittyFlags}u`);
      return true;
    });
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
