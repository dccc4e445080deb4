import type { IBufferCell, Terminal } from "@xterm/headless";

/**
 * The few parts of @xterm/headless's internals the scrollback archive needs: the public API has
 * no event for a line leaving the scrollback, and reading a line cell by cell through it costs
 * more than the parse that wrote the line. Each shape is checked when a terminal is made, so an
 * xterm.js upgrade that moves them fails every terminal test at once instead of losing lines.
 */

/** A buffer row: three 32-bit words per cell (content, foreground, background). */
export interface InternalLine {
  readonly length: number;
  readonly isWrapped: boolean;
  readonly _data: Uint32Array;
  readonly _combined: Record<number, string>;
  getTrimmedLength(): number;
  getNoBgTrimmedLength(): number;
}

interface InternalLines {
  readonly length: number;
  readonly isFull: boolean;
  get(index: number): InternalLine | undefined;
  trimStart(count: number): void;
}

export interface InternalBuffer {
  readonly lines: InternalLines;
  ybase: number;
  ydisp: number;
  savedY: number;
  readonly scrollTop: number;
}

interface InternalBufferService {
  readonly buffer: InternalBuffer;
  readonly buffers: { readonly normal: InternalBuffer };
  scroll(eraseAttr: unknown, isWrapped?: boolean): void;
}

/** An IBufferCell's own fields, which `getCell` fills and every accessor reads. */
export interface WritableCell {
  content: number;
  fg: number;
  bg: number;
  combinedData: string;
}

export const CELL_WORDS = 3;
export const CODEPOINT_MASK = 0x1fffff;
export const IS_COMBINED = 0x200000;
export const HAS_CONTENT = 0x3fffff;
export const WIDTH_SHIFT = 22;
/** A background word's flag saying the cell has underline styles kept elsewhere. */
export const BG_HAS_EXTENDED = 0x10000000;

export class XtermInternalsChanged extends Error {
  constructor(what: string) {
    super(`@xterm/headless's internals changed (${what}); the scrollback archive needs updating for this version`);
  }
}

/** The terminal's buffer service, checked to have the shape this module relies on. */
export function bufferServiceOf(term: Terminal): InternalBufferService {
  const service = (term as unknown as { _core?: { _bufferService?: InternalBufferService } })._core?._bufferService;
  if (!service || typeof service.scroll !== "function") throw new XtermInternalsChanged("_core._bufferService.scroll");
  // Typed as what might be missing, since that is what is being checked.
  const normal = (service as { buffers?: { normal?: Partial<InternalBuffer> } }).buffers?.normal;
  if (typeof normal?.ybase !== "number" || typeof normal.lines?.trimStart !== "function") throw new XtermInternalsChanged("buffers.normal");
  const line = normal.lines.get(0) as Partial<InternalLine> | undefined;
  if (!(line?._data instanceof Uint32Array) || typeof line.getNoBgTrimmedLength !== "function") throw new XtermInternalsChanged("BufferLine._data");
  return service;
}

/**
 * Calls `leaving` with each line just before xterm.js drops it off the top of the normal buffer's
 * scrollback. Every scroll that feeds the scrollback (line feed, index, auto-wrap) goes through
 * BufferService.scroll, and a full buffer drops exactly its first line there.
 */
export function beforeScrollbackTrim(term: Terminal, leaving: (line: InternalLine) => void): void {
  const service = bufferServiceOf(term);
  const scroll = service.scroll.bind(service);
  service.scroll = (eraseAttr: unknown, isWrapped?: boolean) => {
    const buffer = service.buffer;
    if (buffer === service.buffers.normal && buffer.scrollTop === 0 && buffer.lines.isFull) {
      const first = buffer.lines.get(0);
      if (first) leaving(first);
    }
    scroll(eraseAttr, isWrapped);
  };
}

/** Hands the normal buffer's first `count` scrollback lines to `leaving` and removes them. */
export function moveOutOldest(term: Terminal, count: number, leaving: (line: InternalLine) => void): void {
  const normal = bufferServiceOf(term).buffers.normal;
  const n = Math.min(count, normal.ybase);
  if (n <= 0) return;
  for (let i = 0; i < n; i++) {
    const line = normal.lines.get(i);
    if (line) leaving(line);
  }
  // As xterm.js's own Buffer.resize trims, so cursor, saved cursor and viewport stay on their rows.
  normal.lines.trimStart(n);
  normal.ybase -= n;
  normal.ydisp = Math.max(normal.ydisp - n, 0);
  normal.savedY = Math.max(normal.savedY - n, 0);
}

/** The normal buffer's rows, for working out how many a narrower reflow will need. */
export function normalLines(term: Terminal): { readonly count: number; trimmedLength(index: number): number } {
  const lines = bufferServiceOf(term).buffers.normal.lines;
  return { count: lines.length, trimmedLength: (index) => lines.get(index)?.getTrimmedLength() ?? 0 };
}

export function writableCell(cell: IBufferCell): WritableCell {
  const fields = cell as unknown as Partial<WritableCell>;
  if (typeof fields.content !== "number" || typeof fields.fg !== "number" || typeof fields.bg !== "number") throw new XtermInternalsChanged("CellData fields");
  return cell as unknown as WritableCell;
}
