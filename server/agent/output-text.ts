/** How a command's output bytes are written as a string. */
export type OutputEncoding = "utf-8" | "utf-8-lossy" | "base64";

export interface OutputText {
  readonly text: string;
  readonly encoding: OutputEncoding;
}

/**
 * A stream's output as a string: the exact bytes in base64 when asked; otherwise UTF-8 text that
 * says whether it is exact ("utf-8") or had bytes that are not UTF-8 replaced by U+FFFD
 * ("utf-8-lossy"). Where the output limit `cut` the stream in the middle of a character, that
 * character's first bytes are left out of the text instead of being reported as bad bytes:
 * truncated already says output was dropped. A byte order mark is kept: it is output too.
 */
export function outputText(bytes: Buffer, options: { readonly base64: boolean; readonly cut: boolean }): OutputText {
  if (options.base64) return { text: bytes.toString("base64"), encoding: "base64" };
  // In stream mode a decoder holds back an unfinished last character rather than failing on it.
  const decode = (fatal: boolean): string => new TextDecoder("utf-8", { fatal, ignoreBOM: true }).decode(bytes, { stream: options.cut });
  try {
    return { text: decode(true), encoding: "utf-8" };
  } catch {
    return { text: decode(false), encoding: "utf-8-lossy" };
  }
}
