import type { IBufferCell } from "@xterm/headless";
import type { TextLine } from "./buffer-text";

/** A row read cell by cell; xterm.js's IBufferLine is one. */
export interface CellLine extends TextLine {
  readonly length: number;
  getCell(x: number, cell: IBufferCell): IBufferCell | undefined;
}

/** Rows read cell by cell, with a cell to read them into; xterm.js's IBuffer is one. */
export interface CellBuffer {
  readonly length: number;
  getLine(y: number): CellLine | undefined;
  getNullCell(): IBufferCell;
}

/**
 * Buffer lines `from` to `to` (exclusive) one per row, with SGR escapes for colours and
 * attributes, as `tmux capture-pane -e -p` prints them. Each row starts from default attributes
 * and, when it changed them, ends with a reset, so any row can be printed or parsed on its own.
 * Trailing blanks are trimmed unless they show a background colour or inverse video.
 *
 * Written over the buffer's cell API rather than with @xterm/addon-serialize: that addon serializes
 * a range only from the normal buffer, and its whole-buffer form is meant for replay (cursor moves
 * and mode changes between rows), not for reading.
 */
export function styledRows(buffer: CellBuffer, from: number, to: number): string {
  const rows: string[] = [];
  const cell = buffer.getNullCell();
  for (let y = Math.max(0, from); y < Math.min(to, buffer.length); y++) rows.push(styledRow(buffer, y, cell));
  return rows.join("\n");
}

function styledRow(buffer: CellBuffer, y: number, cell: IBufferCell): string {
  const line = buffer.getLine(y);
  if (!line) return "";
  const end = visibleEnd(line.length, (x) => line.getCell(x, cell));
  let out = "";
  let current = "";
  for (let x = 0; x < end; x++) {
    if (!line.getCell(x, cell) || cell.getWidth() === 0) continue;
    const sgr = sgrOf(cell);
    if (sgr !== current) out += `\x1b[${sgr === "" ? "0" : `0;${sgr}`}m`;
    current = sgr;
    out += cell.getChars() || " ";
  }
  return current === "" ? out : `${out}\x1b[0m`;
}

/** One past the last cell that shows something: a character, a background or inverse video. */
function visibleEnd(length: number, cellAt: (x: number) => IBufferCell | undefined): number {
  for (let x = length - 1; x >= 0; x--) {
    const cell = cellAt(x);
    if (!cell) continue;
    const blank = cell.getChars().trim() === "" && cell.isBgDefault() && !cell.isInverse();
    if (!blank) return x + cell.getWidth();
  }
  return 0;
}

const flags: ReadonlyArray<[number, (cell: IBufferCell) => number]> = [
  [1, (c) => c.isBold()],
  [2, (c) => c.isDim()],
  [3, (c) => c.isItalic()],
  [4, (c) => c.isUnderline()],
  [5, (c) => c.isBlink()],
  [7, (c) => c.isInverse()],
  [8, (c) => c.isInvisible()],
  [9, (c) => c.isStrikethrough()],
  [53, (c) => c.isOverline()],
];

/** The SGR parameters that set a cell's attributes from the default state; "" for the default. */
export function sgrOf(cell: IBufferCell): string {
  if (cell.isAttributeDefault()) return "";
  const params = flags.filter(([, test]) => test(cell) !== 0).map(([code]) => String(code));
  const fg = colourParams(cell.isFgRGB(), cell.isFgPalette(), cell.getFgColor(), 30);
  const bg = colourParams(cell.isBgRGB(), cell.isBgPalette(), cell.getBgColor(), 40);
  return [...params, ...fg, ...bg].join(";");
}

/** `base` is 30 for the foreground, 40 for the background; bright colours sit 60 above them. */
function colourParams(rgb: boolean, palette: boolean, colour: number, base: number): string[] {
  if (rgb) return [`${base + 8};2;${(colour >> 16) & 0xff};${(colour >> 8) & 0xff};${colour & 0xff}`];
  if (!palette) return [];
  if (colour < 8) return [String(base + colour)];
  if (colour < 16) return [String(base + 60 + colour - 8)];
  return [`${base + 8};5;${colour}`];
}
