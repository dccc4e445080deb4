import assert from "node:assert/strict";
import { Emulator } from "../../../server/terminal/emulator";
import { Terminal } from "@xterm/headless";
import { beforeScrollbackTrim, bufferServiceOf, moveOutOldest } from "../../../server/terminal/xterm-internals";

/**
 * The compact scrollback archive must be invisible: an emulator that keeps only a few lines in
 * xterm.js and archives the rest reads exactly as one that keeps everything in xterm.js.
 */
function pair(columns: number, rows: number, scrollback: number, live = 2): { ours: Emulator; reference: Emulator; write: (data: string) => Promise<void> } {
  const make = (liveScrollback: number) => new Emulator({ columns, rows, scrollback, liveScrollback, reply: () => undefined, changed: () => undefined });
  const ours = make(live);
  const reference = make(scrollback);
  return { ours, reference, write: async (data) => {
      await Promise.all([ours.write(data), reference.write(data)]);
    }, };
}

function assertSameReading(ours: Emulator, reference: Emulator, what: string): void {
  assert.equal(ours.contents(), reference.contents(), `${what}: contents`);
  assert.equal(ours.contents({ rows: true }), reference.contents({ rows: true }), `${what}: rows`);
  assert.equal(ours.contents({ styled: true }), reference.contents({ styled: true }), `${what}: styled rows`);
  assert.equal(ours.visible(), reference.visible(), `${what}: visible`);
  assert.deepEqual(ours.viewport, reference.viewport, `${what}: viewport`);
  assert.equal(ours.atBottom, reference.atBottom, `${what}: at bottom`);
}

const lines = (count: number, text: (i: number) => string) => Array.from({ length: count }, (_, i) => text(i)).join("\r\n");

describe("terminal scrollback archive", () => {
  it("reads plain, wrapped, coloured, wide and combined text the same once archived", async () => {
    const { ours, reference, write } = pair(12, 3, 200);
    await write(lines(30, (i) => `plain ${i}`));
    await write("\r\n0123456789abcdefghijklmnopqrstuvwxyz\r\n");
    await write("\x1b[1;31mred\x1b[0m and \x1b[44mblue bg\x1b[0m\r\n\x1b[38;2;1;2;3;7mrgb\x1b[27;93m bright\x1b[0m\r\n");
    await write("日本語 wide 👍🏽\r\ne\u0301 combined\r\n\x1b[42m    \x1b[0m\r\ncafé naïve\r\n");
    await write("tab\there\r\n\x1b[5Cgap\r\n");
    await write(lines(10, (i) => `tail ${i}`));
    assert.ok(ours.contents().includes("plain 0"), "the oldest line is still there");
    assertSameReading(ours, reference, "after mixed output");
    ours.dispose();
    reference.dispose();
  });

  it("drops the oldest lines at the same count as xterm.js does", async () => {
    const { ours, reference, write } = pair(20, 4, 50);
    await write(lines(500, (i) => `line ${i}`));
    assertSameReading(ours, reference, "past the scrollback limit");
    assert.equal(ours.contents().split("\n")[0], reference.contents().split("\n")[0]);
    assert.equal(ours.viewport.length, 54, "50 lines of scrollback and the screen");
    ours.dispose();
    reference.dispose();
  });

  it("archives lines a scroll region anchored at the top pushes out, as a progress bar does", async () => {
    const { ours, reference, write } = pair(20, 5, 100);
    await write("\x1b[1;4r\x1b[4;1H");
    await write(lines(40, (i) => `apt line ${i}`));
    await write("\x1b[5;1Hprogress 50%\x1b[r");
    assertSameReading(ours, reference, "with a scroll region");
    assert.ok(ours.contents().includes("apt line 0"));
    ours.dispose();
    reference.dispose();
  });

  it("scrolls back into the archive and keeps the view on its lines while output continues", async () => {
    const { ours, reference, write } = pair(20, 3, 100);
    await write(lines(40, (i) => `row ${i}`));
    for (const emu of [ours, reference]) emu.scrollLines(-30);
    assertSameReading(ours, reference, "scrolled back 30");
    assert.equal(ours.visible(), "row 7\nrow 8\nrow 9");
    await write(`\r\n${lines(20, (i) => `more ${i}`)}`);
    assertSameReading(ours, reference, "after more output");
    for (const emu of [ours, reference]) emu.scrollPages(-1);
    assertSameReading(ours, reference, "a page up");
    for (const emu of [ours, reference]) emu.scrollToTop();
    assertSameReading(ours, reference, "at the top");
    assert.equal(ours.range({ x: 0, y: 0 }, { x: 2, y: 2 }), reference.range({ x: 0, y: 0 }, { x: 2, y: 2 }));
    for (const emu of [ours, reference]) emu.scrollToBottom();
    assertSameReading(ours, reference, "back at the bottom");
    ours.dispose();
    reference.dispose();
  });

  it("erases the archive with the scrollback: ED 3, a full reset, clear", async () => {
    for (const erase of ["\x1b[3J", "\x1bc"]) {
      const { ours, reference, write } = pair(20, 3, 100);
      await write(lines(30, (i) => `old ${i}`));
      await write(`${erase}new`);
      assertSameReading(ours, reference, JSON.stringify(erase));
      assert.ok(!ours.contents().includes("old 0"), `${JSON.stringify(erase)} leaves no archived line`);
      ours.dispose();
      reference.dispose();
    }
    const { ours, reference, write } = pair(20, 3, 100);
    await write(lines(30, (i) => `old ${i}`));
    for (const emu of [ours, reference]) emu.clear();
    assertSameReading(ours, reference, "clear");
    ours.dispose();
    reference.dispose();
  });

  it("keeps the whole scrollback through a narrower or shorter window", async () => {
    const { ours, reference, write } = pair(30, 6, 300, 5);
    await write(lines(60, (i) => `a line long enough to wrap ${i}`));
    for (const emu of [ours, reference]) emu.resize(12, 4);
    assert.equal(ours.contents(), reference.contents(), "the text is the same; only the oldest rows keep their old width");
    assert.equal(ours.visible(), reference.visible());
    for (const emu of [ours, reference]) emu.resize(40, 8);
    assert.equal(ours.contents(), reference.contents());
    ours.dispose();
    reference.dispose();
  });

  it("leaves the alternate screen alone and comes back to the archive", async () => {
    const { ours, reference, write } = pair(20, 3, 100);
    await write(lines(30, (i) => `shell ${i}`));
    await write("\x1b[?1049h\x1b[Hfull screen\r\n");
    for (const emu of [ours, reference]) emu.scrollLines(-5);
    assertSameReading(ours, reference, "in the alternate screen");
    await write("\x1b[?1049l");
    assertSameReading(ours, reference, "back on the normal screen");
    ours.dispose();
    reference.dispose();
  });

  it("fails loudly when xterm.js's internals are not where it reads them", () => {
    const term = new Terminal({ cols: 10, rows: 2, allowProposedApi: true });
    assert.equal(typeof bufferServiceOf(term).scroll, "function");
    const broken = new Terminal({ cols: 10, rows: 2, allowProposedApi: true });
    (broken as unknown as { _core: object })._core = {};
    assert.throws(() => beforeScrollbackTrim(broken, () => undefined), /internals changed/);
    assert.throws(() => moveOutOldest(broken, 1, () => undefined), /internals changed/);
    term.dispose();
  });
});
