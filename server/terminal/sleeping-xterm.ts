import { SerializeAddon } from "@xterm/addon-serialize";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { Terminal as XtermTerminal } from "@xterm/headless";
import { bufferRows } from "./buffer-text";
import { styledRows } from "./styled-rows";
import { unseenState, unserializedModes, writeNow } from "./xterm-internals";

export interface XtermSetup {
  readonly columns: number;
  readonly rows: number;
  /** The scrollback xterm.js itself keeps. */
  readonly scrollback: number;
  /** Hooks an instance, new or rebuilt, to the rest of the terminal. */
  readonly attach: (term: XtermTerminal) => void;
}

interface Instance {
  readonly term: XtermTerminal;
  readonly serializer: SerializeAddon;
}

/**
 * A terminal's xterm.js instance, which an idle terminal gives up. An instance costs about
 * 200 KiB however little it shows (its parser's handlers, its screen at twelve bytes a cell);
 * asleep, the terminal keeps only what SerializeAddon writes to redraw it, and the instance is
 * rebuilt from that the moment anything uses it. It sleeps only when the rebuilt instance would
 * be the same in everything it can be asked, which is tried on a throwaway instance first: a
 * half-parsed sequence, a scroll region, a pen or character set left set, the alternate screen
 * all keep it awake.
 */
export class SleepingXterm {
  private live: Instance | undefined;
  private asleep: { state: string; columns: number; rows: number } | undefined;
  private writes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly setup: XtermSetup,
    sleepAfterMs: number | undefined,
  ) {
    const live = this.build(setup.columns, setup.rows);
    setup.attach(live.term);
    this.live = live;
    if (sleepAfterMs === undefined) return;
    this.timer = setTimeout(() => this.sleep(), sleepAfterMs);
    this.timer.unref();
  }

  /** The instance, rebuilt if asleep; using it keeps the terminal awake a while longer. */
  get term(): XtermTerminal {
    return this.instance().term;
  }

  get serializer(): SerializeAddon {
    return this.instance().serializer;
  }

  get sleeping(): boolean {
    return this.asleep !== undefined;
  }

  /** The size, without waking the terminal. */
  get size(): { columns: number; rows: number } {
    const term = this.live?.term;
    return term ? { columns: term.cols, rows: term.rows } : { columns: this.asleep?.columns ?? this.setup.columns, rows: this.asleep?.rows ?? this.setup.rows };
  }

  write(data: string | Uint8Array): Promise<void> {
    const term = this.term;
    this.writes++;
    return new Promise((resolve) =>
      term.write(data, () => {
        this.writes--;
        this.timer?.refresh();
        resolve();
      }),
    );
  }

  /** Puts the terminal to sleep if it would wake exactly as it is; returns whether it did. */
  sleep(): boolean {
    const live = this.live;
    if (!live || this.writes > 0 || live.term.buffer.active.type !== "normal") return false;
    const state = live.serializer.serialize() + unserializedModes(live.term);
    const probe = this.build(live.term.cols, live.term.rows);
    writeNow(probe.term, state);
    const same = fingerprint(probe.term) === fingerprint(live.term);
    probe.term.dispose();
    if (!same) return false;
    this.asleep = { state, columns: live.term.cols, rows: live.term.rows };
    this.live = undefined;
    live.term.dispose();
    return true;
  }

  /** Ends the instance; what it showed can still be read, as from a disposed xterm.js. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.live?.term.dispose();
  }

  private instance(): Instance {
    this.timer?.refresh();
    return (this.live ??= this.wake());
  }

  private wake(): Instance {
    const { state, columns, rows } = this.asleep ?? { state: "", columns: this.setup.columns, rows: this.setup.rows };
    const live = this.build(columns, rows);
    writeNow(live.term, state);
    this.asleep = undefined;
    this.setup.attach(live.term);
    return live;
  }

  private build(columns: number, rows: number): Instance {
    const term = new XtermTerminal({ cols: columns, rows, scrollback: this.setup.scrollback, allowProposedApi: true });
    // Unicode 11 widths, as glibc's wcwidth (so readline) and tmux count them: an emoji takes two
    // cells. xterm's default, Unicode 6, gives most emoji one, and the shell's cursor and ours part.
    term.loadAddon(new Unicode11Addon());
    const serializer = new SerializeAddon();
    term.loadAddon(serializer);
    term.unicode.activeVersion = "11";
    return { term, serializer };
  }
}

/** Everything a reader could ask of an instance, and the state it keeps out of sight. */
function fingerprint(term: XtermTerminal): string {
  const buffer = term.buffer.active;
  let wrapped = "";
  for (let y = 0; y < buffer.length; y++) wrapped += buffer.getLine(y)?.isWrapped === true ? "1" : "0";
  const rows = [bufferRows(buffer, 0, buffer.length), styledRows(buffer, 0, buffer.length), wrapped];
  return JSON.stringify([unseenState(term), term.modes, buffer.type, buffer.baseY, buffer.length, buffer.cursorX, buffer.cursorY, rows]);
}
