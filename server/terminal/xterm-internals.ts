import type { IBufferCell, Terminal } from "@xterm/headless";

/**
 * The few parts of @xterm/headless's internals the scrollback archive and sleeping terminals
 * need: the public API has no event for a line leaving the scrollback, reading a line cell by cell
 * through it costs more than the parse that wrote the line, and it can neither show the state a
 * rebuilt terminal must match nor parse at once. Each shape is checked where it is used, so an
 * xterm.js upgrade that moves them fails the terminal tests at once instead of losing lines.
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
    super(`@xterm/headless's internals changed (${what}); the scrollback archive and sleeping terminals need updating for this version`);
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

interface InternalCore {
  readonly _inputHandler: {
    readonly _parser: { readonly currentState: number };
    readonly _utf8Decoder: { readonly interim: Uint8Array };
    readonly _stringDecoder: { readonly _interim: number };
    readonly _curAttrData: { readonly fg: number; readonly bg: number };
  };
  readonly _charsetService: { readonly glevel: number; readonly charset: unknown };
  readonly _bufferService: { readonly buffer: InternalBuffer & InternalCursorState };
  readonly coreService: { readonly isCursorHidden: boolean; readonly decPrivateModes: object; readonly modes: object };
  readonly coreMouseService: { readonly activeEncoding: string; readonly activeProtocol: string };
  readonly _writeBuffer: { writeSync(data: string): void };
}

interface InternalCursorState {
  readonly x: number;
  readonly scrollBottom: number;
  readonly savedX: number;
  readonly savedY: number;
  readonly savedCurAttrData: { readonly fg: number; readonly bg: number };
  readonly tabs: Record<number, boolean | undefined>;
}

function coreOf(term: Terminal): InternalCore {
  const core = (term as unknown as { _core?: Partial<InternalCore> })._core;
  if (typeof core?._inputHandler?._parser.currentState !== "number" || typeof core._writeBuffer?.writeSync !== "function" || !core._charsetService || !core.coreMouseService) {
    throw new XtermInternalsChanged("_core._inputHandler, _writeBuffer, _charsetService");
  }
  return core as InternalCore;
}

/**
 * The terminal's state that its screen and modes do not show and SerializeAddon does not carry:
 * a sequence half parsed, a character half decoded, the pen, character sets, tab stops, the saved
 * cursor, the scroll region, a wrap pending at the last column, the hidden cursor, mouse encoding.
 */
export function unseenState(term: Terminal): unknown[] {
  const core = coreOf(term);
  const input = core._inputHandler;
  const buffer = core._bufferService.buffer;
  return [
    input._parser.currentState,
    Array.from(input._utf8Decoder.interim),
    input._stringDecoder._interim,
    input._curAttrData.fg,
    input._curAttrData.bg,
    core._charsetService.glevel,
    core._charsetService.charset === undefined,
    Object.keys(buffer.tabs).join(","),
    [buffer.savedX, buffer.savedY, buffer.savedCurAttrData.fg, buffer.savedCurAttrData.bg],
    [buffer.scrollTop, buffer.scrollBottom, buffer.x],
    core.coreService.isCursorHidden,
    core.coreService.decPrivateModes,
    core.coreService.modes,
    core.coreMouseService.activeEncoding,
    core.coreMouseService.activeProtocol,
  ];
}

/** Parses `data` before returning, for rebuilding a terminal that must be read at once. */
export function writeNow(term: Terminal, data: string): void {
  // Not an empty string: writeSync's loop stops at a falsy chunk and leaves its callback slot
  // behind, and every later write's callback is then taken from the slot before its own.
  if (data.length > 0) coreOf(term)._writeBuffer.writeSync(data);
}

const MOUSE_ENCODING_MODES: Record<string, string> = { SGR: "\x1b[?1006h", SGR_PIXELS: "\x1b[?1016h" };

/** Sequences that set what SerializeAddon leaves out but a sequence can set: the mouse encoding. */
export function unserializedModes(term: Terminal): string {
  return MOUSE_ENCODING_MODES[coreOf(term).coreMouseService.activeEncoding] ?? "";
}
