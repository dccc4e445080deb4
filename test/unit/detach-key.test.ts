import assert from "node:assert/strict";
import { DEFAULT_DETACH_KEY, DetachKeyError, findDetach, parseDetachKey } from "../../cli/detach-key";

describe("the detach key", () => {
  it("is Ctrl-\\ by default: the byte 0x1c, as raw mode delivers it", () => {
    const key = parseDetachKey(DEFAULT_DETACH_KEY);
    assert.equal(key?.label, "Ctrl-\\");
    assert.deepEqual(key.sequences[0], Buffer.from([0x1c]));
  });

  it("reads ctrl-X, C-X and ^X alike, in either case", () => {
    for (const text of ["ctrl-]", "C-]", "^]", "CTRL-]", " c-] "]) assert.deepEqual(parseDetachKey(text)?.sequences[0], Buffer.from([0x1d]), text);
    for (const text of ["ctrl-a", "C-A", "^a"]) assert.deepEqual(parseDetachKey(text)?.sequences[0], Buffer.from([0x01]), text);
    assert.deepEqual(parseDetachKey("ctrl-@")?.sequences[0], Buffer.from([0x00]));
    assert.deepEqual(parseDetachKey("ctrl-_")?.sequences[0], Buffer.from([0x1f]));
    assert.equal(parseDetachKey("C-q")?.label, "Ctrl-Q");
  });

  it("is none with none: nothing detaches", () => {
    assert.equal(parseDetachKey("none"), undefined);
    assert.equal(findDetach(Buffer.from([0x1c]), undefined), -1);
  });

  it("refuses keys that are also Tab, Enter, Escape or Backspace, and what is no control key", () => {
    for (const text of ["ctrl-i", "ctrl-m", "ctrl-j", "ctrl-[", "ctrl-h", "^?"]) assert.throws(() => parseDetachKey(text), /is also the (Tab|Enter|Escape|Backspace) key/, text);
    for (const text of ["", "x", "ctrl-", "ctrl-ab", "alt-x", "ctrl-1", "C-\\x"]) assert.throws(() => parseDetachKey(text), DetachKeyError, text);
  });

  it("finds the key inside what was typed, as its byte or as the kitty keyboard protocol sends it", () => {
    const key = parseDetachKey("ctrl-\\");
    assert.equal(findDetach(Buffer.from("ls\x1c"), key), 2);
    assert.equal(findDetach(Buffer.from("ls -l\r"), key), -1);
    assert.equal(findDetach(Buffer.from("ab\x1b[92;5u"), key), 2);
    assert.equal(findDetach(Buffer.from("\x1b[92;5:1u"), key), 0);
    assert.equal(findDetach(Buffer.from("\x1b[92;5:3u"), key), -1, "a release is no press");
    assert.equal(findDetach(Buffer.from("x\x1b[92;5uy\x1c"), key), 1, "the first of several");
  });
});
