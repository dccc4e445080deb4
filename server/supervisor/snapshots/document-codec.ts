import { CCtx, cStreamOutSize, EndDirective } from "zstd-napi/binding";
import type { SnapshotDocument } from "./document";

/** Entries serialised per piece: the whole document as one string, then one buffer, was most of a commit's memory. */
const ENTRIES_PER_PIECE = 1000;

/**
 * The document as zstd-compressed JSON (one frame, as `zstd -d` reads it), made a piece of its
 * entries at a time: memory holds one piece and the compressed output, not the whole text.
 */
export function encodeDocument(document: SnapshotDocument): Buffer {
  const context = new CCtx();
  const out = Buffer.allocUnsafe(cStreamOutSize());
  const parts: Buffer[] = [];
  const feed = (text: string, end: boolean): void => {
    let input: Uint8Array = Buffer.from(text);
    for (;;) {
      const [left, produced, consumed] = context.compressStream2(out, input, end ? EndDirective.end : EndDirective.continue);
      if (produced > 0) parts.push(Buffer.from(out.subarray(0, produced)));
      input = input.subarray(consumed);
      if (input.length === 0 && (!end || left === 0)) return;
    }
  };
  const { entries, ...rest } = document;
  feed(`${JSON.stringify(rest).slice(0, -1)},"entries":[`, false);
  for (let at = 0; at < entries.length; at += ENTRIES_PER_PIECE) {
    const piece = entries.slice(at, at + ENTRIES_PER_PIECE).map((e) => JSON.stringify(e));
    feed(`${at > 0 ? "," : ""}${piece.join(",")}`, false);
  }
  feed("]}", true);
  return Buffer.concat(parts);
}
