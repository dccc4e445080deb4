/** The part of an emulator buffer text extraction needs; @xterm/headless's IBuffer has it. */
export interface TextBuffer {
  readonly length: number;
  getLine(y: number): TextLine | undefined;
}

export interface TextLine {
  readonly isWrapped: boolean;
  translateToString(trimRight?: boolean, startColumn?: number, endColumn?: number): string;
}

export interface Point {
  /** Column, 0-based. */
  readonly x: number;
  /** Buffer line, 0-based, scrollback included. */
  readonly y: number;
}

/**
 * Text of buffer lines `from` to `to` (exclusive) as a user would copy it: rows that wrapped are
 * joined into one line, trailing blanks are trimmed from each line (the cursor's line keeps what
 * lies before the cursor, so a prompt's trailing space stays), and empty lines after the last
 * text are dropped.
 */
export function bufferText(buffer: TextBuffer, from: number, to: number, cursor?: Point): string {
  const lines: string[] = [];
  let current: string | undefined;
  for (let y = Math.max(0, from); y < Math.min(to, buffer.length); y++) {
    const line = buffer.getLine(y);
    if (!line) continue;
    const next = buffer.getLine(y + 1);
    const continues = y + 1 < to && next?.isWrapped === true;
    // A row that wraps on keeps its trailing blanks: they are part of the joined line. xterm.js
    // trims only cells never written; spaces a program wrote are trimmed here.
    let text = continues ? line.translateToString(false) : trimEnd(line.translateToString(true));
    if (cursor && cursor.y === y && !continues) {
      const upToCursor = line.translateToString(false, 0, cursor.x);
      if (upToCursor.length > text.length) text = upToCursor;
    }
    current = line.isWrapped && current !== undefined && y > from ? current + text : text;
    if (!continues) {
      lines.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) lines.push(current);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

/**
 * Buffer lines `from` to `to` (exclusive) one per row, as the screen shows them: wrapped rows are
 * not joined, trailing blanks are trimmed, and blank rows are kept, so row N is line N.
 */
export function bufferRows(buffer: TextBuffer, from: number, to: number): string {
  const rows: string[] = [];
  for (let y = Math.max(0, from); y < Math.min(to, buffer.length); y++) rows.push(trimEnd(buffer.getLine(y)?.translateToString(true) ?? ""));
  return rows.join("\n");
}

function trimEnd(text: string): string {
  return text.replace(/[ \t]+$/, "");
}

/** Text between two points (inclusive of both cells), ordered, wrapped rows joined, lines trimmed. */
export function rangeText(buffer: TextBuffer, a: Point, b: Point): string {
  const [start, end] = a.y < b.y || (a.y === b.y && a.x <= b.x) ? [a, b] : [b, a];
  const parts: string[] = [];
  for (let y = start.y; y <= end.y && y < buffer.length; y++) {
    const line = buffer.getLine(y);
    if (!line) continue;
    const from = y === start.y ? start.x : 0;
    const to = y === end.y ? end.x + 1 : undefined;
    const nextWrapped = y < end.y && buffer.getLine(y + 1)?.isWrapped === true;
    const text = line.translateToString(!nextWrapped, from, to);
    parts.push(text);
    if (y < end.y && !nextWrapped) parts.push("\n");
  }
  return parts.join("").replace(/[ \t]+$/gm, "");
}
