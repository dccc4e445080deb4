import type { IBufferCell } from "@xterm/headless";
import { SEGMENT_ROWS, Segment } from "./archive-segment";
import { writableCell, type InternalLine } from "./xterm-internals";

/**
 * The older part of a terminal's scrollback, kept compactly once its rows leave xterm.js's own
 * buffer: up to `capacity` rows, oldest first, in packed segments that are freed whole.
 */
export class ScrollbackArchive {
  private segments: Segment[] = [];
  /** Rows of the first segment already dropped. */
  private skipped = 0;
  private count = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.count;
  }

  /** Keeps a copy of `line`; returns how many of the oldest rows made room for it (0 or 1). */
  append(line: InternalLine): number {
    let last = this.segments[this.segments.length - 1];
    if (!last || last.full) {
      last = new Segment();
      this.segments.push(last);
    }
    last.append(line);
    this.count++;
    if (this.count <= this.capacity) return 0;
    this.dropOldest();
    return 1;
  }

  getLine(index: number): ArchivedLine | undefined {
    if (index < 0 || index >= this.count) return undefined;
    const at = index + this.skipped;
    const segment = this.segments[Math.floor(at / SEGMENT_ROWS)];
    return segment && new ArchivedLine(segment, at % SEGMENT_ROWS);
  }

  clear(): void {
    this.segments = [];
    this.skipped = 0;
    this.count = 0;
  }

  private dropOldest(): void {
    this.count--;
    if (++this.skipped < SEGMENT_ROWS) return;
    this.segments.shift();
    this.skipped = 0;
  }
}

/** One archived row, read the way xterm.js's IBufferLine is. */
export class ArchivedLine {
  constructor(
    private readonly segment: Segment,
    private readonly row: number,
  ) {}

  get isWrapped(): boolean {
    return this.segment.isWrapped(this.row);
  }

  /** The terminal's width when the row was archived. */
  get length(): number {
    return this.segment.width(this.row);
  }

  translateToString(trimRight = false, startColumn = 0, endColumn = this.length): string {
    return this.segment.text(this.row, trimRight, startColumn, endColumn);
  }

  getCell(x: number, cell: IBufferCell): IBufferCell | undefined {
    if (x < 0 || x >= this.length) return undefined;
    this.segment.fillCell(this.row, x, writableCell(cell));
    return cell;
  }
}
