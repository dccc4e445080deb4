import { BG_HAS_EXTENDED, CELL_WORDS, CODEPOINT_MASK, HAS_CONTENT, IS_COMBINED, WIDTH_SHIFT, type InternalLine, type WritableCell } from "./xterm-internals";

/** Rows per segment: the unit in which archived rows are packed and, once dropped, freed. */
export const SEGMENT_ROWS = 256;

const WRAPPED = 1;
/** Cells kept as xterm.js's 32-bit content words; otherwise one Latin-1 byte each. */
const WORDS = 2;
/** The content word of a cell that was never written: no character, one column. */
const NULL_CELL = 1 << WIDTH_SHIFT;
const RUN_BYTES = 12;
/** Content bits that mean a code point past U+00FF or a combined character. */
const BEYOND_LATIN1 = HAS_CONTENT & ~0xff;

/**
 * Up to SEGMENT_ROWS archived rows packed into one byte array. A row keeps only the cells up to
 * its last character or coloured blank: one byte a cell when every cell is a one-column Latin-1
 * character (most output), else xterm.js's content word, plus one (start, fg, bg) run per change
 * of attributes. A row of plain text costs its length plus a dozen bytes, where xterm.js keeps
 * twelve bytes for every column.
 */
export class Segment {
  rows = 0;
  private bytes = new Uint8Array(8192);
  private view = new DataView(this.bytes.buffer);
  private used = 0;
  private readonly offsets = new Uint32Array(SEGMENT_ROWS);
  private readonly widths = new Uint16Array(SEGMENT_ROWS);
  private readonly textEnds = new Uint16Array(SEGMENT_ROWS);
  private readonly cellCounts = new Uint16Array(SEGMENT_ROWS);
  private readonly runCounts = new Uint16Array(SEGMENT_ROWS);
  private readonly flags = new Uint8Array(SEGMENT_ROWS);
  private combined: Map<number, string> | undefined;

  get full(): boolean {
    return this.rows === SEGMENT_ROWS;
  }

  append(line: InternalLine): void {
    const row = this.rows++;
    const data = line._data;
    const textEnd = Math.min(line.length, line.getTrimmedLength());
    const cells = Math.min(line.length, Math.max(textEnd, line.getNoBgTrimmedLength()));
    const narrow = isNarrow(data, cells);
    // Room for the most the row can take: a run for every cell.
    this.reserve(cells * ((narrow ? 1 : 4) + RUN_BYTES));
    this.offsets[row] = this.used;
    this.widths[row] = line.length;
    this.textEnds[row] = textEnd;
    this.cellCounts[row] = cells;
    this.flags[row] = (line.isWrapped ? WRAPPED : 0) | (narrow ? 0 : WORDS);
    if (narrow) this.packBytes(data, cells);
    else this.packWords(line, row, cells);
    this.runCounts[row] = this.packRuns(data, cells);
    if (this.full) this.seal();
  }

  isWrapped(row: number): boolean {
    return ((this.flags[row] ?? 0) & WRAPPED) !== 0;
  }

  width(row: number): number {
    return this.widths[row] ?? 0;
  }

  /** As xterm.js's BufferLine.translateToString: a cell never written reads as a space. */
  text(row: number, trimRight: boolean, start: number, end: number): string {
    const stop = trimRight ? Math.min(end, this.textEnds[row] ?? 0) : end;
    if (start >= stop) return "";
    if (this.inWords(row)) return this.wordText(row, start, stop);
    const cells = this.cellCounts[row] ?? 0;
    const from = Math.min(start, cells);
    const to = Math.min(stop, cells);
    const offset = this.bytes.byteOffset + (this.offsets[row] ?? 0);
    const text = to > from ? Buffer.from(this.bytes.buffer, offset + from, to - from).toString("latin1") : "";
    const blanks = stop - Math.max(start, cells);
    return blanks > 0 ? text + " ".repeat(blanks) : text;
  }

  /** Fills `cell` (an xterm.js CellData) with the cell at column `x`, as the live buffer would. */
  fillCell(row: number, x: number, cell: WritableCell): void {
    cell.content = this.content(row, x);
    cell.combinedData = (cell.content & IS_COMBINED) !== 0 ? (this.combined?.get(combinedKey(row, x)) ?? "") : "";
    cell.fg = 0;
    cell.bg = 0;
    if (x >= (this.cellCounts[row] ?? 0)) return;
    const runs = (this.offsets[row] ?? 0) + this.cellBytes(row);
    for (let i = 0; i < (this.runCounts[row] ?? 0); i++) {
      const at = runs + i * RUN_BYTES;
      if (this.view.getUint32(at, true) > x) break;
      cell.fg = this.view.getUint32(at + 4, true);
      cell.bg = this.view.getUint32(at + 8, true);
    }
  }

  private content(row: number, x: number): number {
    if (x >= (this.cellCounts[row] ?? 0)) return NULL_CELL;
    const at = this.offsets[row] ?? 0;
    if (this.inWords(row)) return this.view.getUint32(at + x * 4, true);
    return (this.bytes[at + x] ?? 0) | NULL_CELL;
  }

  private wordText(row: number, start: number, stop: number): string {
    let text = "";
    for (let x = start; x < stop; ) {
      const content = this.content(row, x);
      const code = content & CODEPOINT_MASK;
      if ((content & IS_COMBINED) !== 0) text += this.combined?.get(combinedKey(row, x)) ?? "";
      else text += code !== 0 ? String.fromCodePoint(code) : " ";
      x += content >> WIDTH_SHIFT || 1;
    }
    return text;
  }

  private inWords(row: number): boolean {
    return ((this.flags[row] ?? 0) & WORDS) !== 0;
  }

  private cellBytes(row: number): number {
    return (this.cellCounts[row] ?? 0) * (this.inWords(row) ? 4 : 1);
  }

  private packBytes(data: Uint32Array, cells: number): void {
    for (let x = 0; x < cells; x++) this.bytes[this.used + x] = (data[x * CELL_WORDS] ?? 0) & 0xff || 0x20;
    this.used += cells;
  }

  private packWords(line: InternalLine, row: number, cells: number): void {
    const data = line._data;
    for (let x = 0; x < cells; x++) {
      const content = data[x * CELL_WORDS] ?? 0;
      this.view.setUint32(this.used + x * 4, content, true);
      if ((content & IS_COMBINED) !== 0) (this.combined ??= new Map()).set(combinedKey(row, x), line._combined[x] ?? "");
    }
    this.used += cells * 4;
  }

  /** One (start, fg, bg) run per change of attributes, counting from the defaults; returns how many. */
  private packRuns(data: Uint32Array, cells: number): number {
    const start = this.used;
    let fg = 0;
    let bg = 0;
    for (let x = 0; x < cells; x++) {
      const cellFg = data[x * CELL_WORDS + 1] ?? 0;
      const cellBg = (data[x * CELL_WORDS + 2] ?? 0) & ~BG_HAS_EXTENDED;
      if (cellFg === fg && cellBg === bg) continue;
      fg = cellFg;
      bg = cellBg;
      this.view.setUint32(this.used, x, true);
      this.view.setUint32(this.used + 4, fg, true);
      this.view.setUint32(this.used + 8, bg, true);
      this.used += RUN_BYTES;
    }
    return (this.used - start) / RUN_BYTES;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.bytes.length) return;
    this.resize(Math.max(this.bytes.length * 2, this.used + bytes));
  }

  /** A full segment gives back the room it kept for growth. */
  private seal(): void {
    this.resize(this.used);
  }

  private resize(size: number): void {
    const bytes = new Uint8Array(size);
    bytes.set(this.bytes.subarray(0, this.used));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }
}

/** Whether every kept cell is a one-column Latin-1 character, or was never written. */
function isNarrow(data: Uint32Array, cells: number): boolean {
  for (let x = 0; x < cells; x++) {
    const content = data[x * CELL_WORDS] ?? 0;
    if ((content & BEYOND_LATIN1) !== 0 || content >> WIDTH_SHIFT !== 1) return false;
  }
  return true;
}

/** Where a combined character's text is kept: by row and column. */
function combinedKey(row: number, x: number): number {
  return row * 65536 + x;
}
