import type { IBuffer, IBufferCell, IBufferLine, Terminal } from "@xterm/headless";
import { ArchivedLine, ScrollbackArchive } from "./scrollback-archive";
import type { CellBuffer } from "./styled-rows";
import { beforeScrollbackTrim, moveOutOldest, normalLines, type InternalLine } from "./xterm-internals";

/**
 * How many scrollback lines stay in xterm.js's own buffer, where a resize reflows them; older
 * ones move to the compact archive. xterm.js keeps twelve bytes per column for each of these.
 */
export const LIVE_SCROLLBACK = 100;

/** The scrollback xterm.js itself is given when a terminal keeps `total` lines. */
export function liveScrollback(total: number, live = LIVE_SCROLLBACK): number {
  return Math.min(total, live);
}

/** The normal screen's archived rows followed by xterm.js's buffer, as one buffer. */
class ArchiveAndLive implements CellBuffer {
  constructor(
    private readonly archive: ScrollbackArchive,
    private readonly live: IBuffer,
  ) {}

  get length(): number {
    return this.archive.length + this.live.length;
  }

  getLine(y: number): ArchivedLine | IBufferLine | undefined {
    return y < this.archive.length ? this.archive.getLine(y) : this.live.getLine(y - this.archive.length);
  }

  getNullCell(): IBufferCell {
    return this.live.getNullCell();
  }
}

/**
 * A terminal's scrollback, archive and live part together, and the viewport over it. Lines are
 * numbered from the oldest kept; the viewport is held here, not in xterm.js, because it can reach
 * into the archive. While a full-screen program holds the alternate screen, there is no scrollback.
 */
export class Scrollback {
  private readonly archive: ScrollbackArchive | undefined;
  /** The viewport's first line while scrolled back; undefined while it follows the output. */
  private scrolledTo: number | undefined;

  /** `term` is the terminal's current xterm.js instance, which `attach` hooks when it changes. */
  constructor(
    private readonly term: () => Terminal,
    total: number,
    private readonly live: number,
  ) {
    if (total > live) this.archive = new ScrollbackArchive(total - live);
  }

  /** Archives what leaves this instance's scrollback from now on. */
  attach(term: Terminal): void {
    if (this.archive) beforeScrollbackTrim(term, (line) => this.keep(line));
  }

  /** The buffer the screen shows: the alternate screen, or the normal one with all its scrollback. */
  get buffer(): CellBuffer {
    const active = this.term().buffer.active;
    return this.archive && active.type === "normal" ? new ArchiveAndLive(this.archive, active) : active;
  }

  get viewportTop(): number {
    const bottom = this.bottomTop();
    return Math.min(this.scrolledTo ?? bottom, bottom);
  }

  get atBottom(): boolean {
    return this.viewportTop === this.bottomTop();
  }

  /** The cursor's line in `buffer`'s numbering. */
  get cursorLine(): number {
    const active = this.term().buffer.active;
    return this.archived() + active.baseY + active.cursorY;
  }

  /** Any count is accepted; past either end the view stops there. */
  scrollBy(lines: number): void {
    this.scrollTo(this.viewportTop + Math.trunc(lines));
  }

  scrollTo(line: number): void {
    if (this.term().buffer.active.type !== "normal") return;
    const bottom = this.bottomTop();
    const top = Math.min(Math.max(line, 0), bottom);
    this.scrolledTo = top === bottom ? undefined : top;
  }

  /** The scrollback was erased (ED 3, a reset or a clear): the archive goes and the view follows. */
  forget(): void {
    this.archive?.clear();
    this.scrolledTo = undefined;
  }

  /**
   * Resizes the terminal without losing a line. xterm.js drops whatever a narrower reflow or a
   * shorter screen pushes past its own scrollback, so it is given room for all of it first, and
   * what ends up beyond its usual share afterwards moves into the archive.
   */
  resize(columns: number, rows: number): void {
    const term = this.term();
    if (!this.archive) return term.resize(columns, rows);
    const room = rows + this.live;
    const needed = this.rowsAfterResize(columns);
    if (needed > room) term.options.scrollback = needed - rows;
    term.resize(columns, rows);
    const excess = normalLines(term).count - room;
    if (excess > 0) moveOutOldest(term, excess, (line) => this.keep(line));
    term.options.scrollback = this.live;
  }

  /** At most how many rows the normal buffer's lines take at `columns` (a wider reflow takes fewer). */
  private rowsAfterResize(columns: number): number {
    const term = this.term();
    const lines = normalLines(term);
    if (columns >= term.cols) return lines.count;
    let rows = 0;
    for (let i = 0; i < lines.count; i++) rows += Math.max(1, Math.ceil(lines.trimmedLength(i) / columns));
    return rows;
  }

  private keep(line: InternalLine): void {
    if (!this.archive) return;
    const dropped = this.archive.append(line);
    if (this.scrolledTo !== undefined) this.scrolledTo = Math.max(0, this.scrolledTo - dropped);
  }

  private archived(): number {
    return this.archive && this.term().buffer.active.type === "normal" ? this.archive.length : 0;
  }

  private bottomTop(): number {
    return this.archived() + this.term().buffer.active.baseY;
  }
}
