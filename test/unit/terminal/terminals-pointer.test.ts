import assert from "node:assert/strict";
import type { Terminal } from "../../../generated/ghostd/terminal/v1/terminal";
import type { Terminals } from "../../../server/terminal/terminals";
import { fakeTerminals, type FakePty } from "./fake-pty-host";

describe("terminals: the mouse and selection (fake PTYs)", () => {
  let terminals: Terminals;
  let t: Terminal;
  let pty: FakePty;
  beforeEach(async () => {
    const fake = fakeTerminals();
    terminals = fake.terminals;
    t = await terminals.create({ location: "window", env: {} });
    pty = fake.host.pty(t.id);
  });
  afterEach(() => terminals.closeAll());
  const selection = (): string => terminals.details(t.id, "selection").value;

  it("reports SGR mouse events to a program that asked for them", async () => {
    await terminals.output(t.id, "\x1b[?1000h\x1b[?1006h");
    terminals.mousePosition(t.id, 25, 45, []);
    terminals.mouseButton(t.id, "left", "press", []);
    terminals.mouseButton(t.id, "left", "release", ["control"]);
    terminals.mouseScroll(t.id, 0, 1, false, undefined);
    terminals.mouseScroll(t.id, 0, -1, false, undefined);
    assert.deepEqual(pty.writes, ["\x1b[<0;3;3M", "\x1b[<16;3;3m", "\x1b[<64;3;3M", "\x1b[<65;3;3M"]);
    assert.equal(selection(), "", "a program that reads the mouse gets no selection made");
  });

  it("sends legacy mouse bytes without SGR, and arrow keys for the wheel in the alternate screen", async () => {
    await terminals.output(t.id, "\x1b[?1000h");
    terminals.mousePosition(t.id, 0, 0, []);
    terminals.mouseButton(t.id, "right", undefined, []);
    assert.deepEqual(pty.writes, ["\x1b[M\x22!!"]);
    await terminals.output(t.id, "\x1b[?1000l\x1b[?1049h");
    terminals.mouseScroll(t.id, 0, 2, false, undefined);
    assert.equal(pty.writes.at(-1), "\x1b[A\x1b[A");
  });

  it("sends a legacy report's coordinates as single bytes, and none past column 223", async () => {
    const wide = fakeTerminals({ windowColumns: 300, cellWidth: 10, cellHeight: 20 });
    const term = await wide.terminals.create({ location: "window", env: {} });
    const widePty = wide.host.pty(term.id);
    try {
      await wide.terminals.output(term.id, "\x1b[?1000h");
      wide.terminals.mousePosition(term.id, 119 * 10 + 5, 5, []);
      wide.terminals.mouseButton(term.id, "left", "press", []);
      assert.deepEqual([...(widePty.bytes.at(-1) ?? [])], [0x1b, 0x5b, 0x4d, 32, 32 + 120, 33], "column 120 is the one byte 152, not UTF-8");
      const sent = widePty.bytes.length;
      wide.terminals.mousePosition(term.id, 250 * 10, 5, []);
      wide.terminals.mouseButton(term.id, "left", "press", []);
      assert.equal(widePty.bytes.length, sent, "column 251 cannot be said in legacy bytes: nothing is sent, as xterm does");
    } finally {
      await wide.terminals.closeAll();
    }
  });

  it("selects text by press, drag and release; a click without a drag selects nothing", async () => {
    await terminals.output(t.id, "alpha beta\r\ngamma delta");
    terminals.mousePosition(t.id, 60, 5, []);
    terminals.mouseButton(t.id, "left", "press", []);
    terminals.mousePosition(t.id, 45, 25, []);
    terminals.mouseButton(t.id, "left", "release", []);
    assert.equal(selection(), "beta\ngamma");
    terminals.mouseButton(t.id, "left", "press", []);
    terminals.mouseButton(t.id, "left", "release", []);
    assert.equal(selection(), "");
    assert.deepEqual(pty.writes, []);
  });

  it("scrolls the viewport through the scrollback with the wheel, by lines or by pixels", async () => {
    await terminals.output(t.id, Array.from({ length: 200 }, (_, i) => `${i + 1}`).join("\r\n"));
    const bottom = terminals.details(t.id, "visible").value;
    terminals.mouseScroll(t.id, 0, 50, false, "began");
    assert.match(terminals.details(t.id, "visible").value, /^111\n/);
    terminals.mouseScroll(t.id, 0, -200, true, undefined);
    assert.match(terminals.details(t.id, "visible").value, /^121\n/);
    terminals.mouseScroll(t.id, 0, -50, false, undefined);
    assert.equal(terminals.details(t.id, "visible").value, bottom);
  });

  it("sends at most 1,000 wheel reports for one scroll, however large its delta", async () => {
    await terminals.output(t.id, "\x1b[?1000h\x1b[?1006h");
    terminals.mouseScroll(t.id, 763_754_963, -8.77e80, false, undefined);
    assert.equal(pty.writes.length, 2000);
    assert.deepEqual(new Set(pty.writes), new Set(["\x1b[<65;1;1M", "\x1b[<66;1;1M"]));
  });

  it("stops the view at either end of the scrollback for any scroll count", async () => {
    await terminals.output(t.id, Array.from({ length: 200 }, (_, i) => `${i + 1}`).join("\r\n"));
    const bottom = terminals.details(t.id, "visible").value;
    await terminals.action(t.id, `scroll_page_lines:-${"9".repeat(400)}`);
    assert.match(terminals.details(t.id, "visible").value, /^1\n2\n/);
    await terminals.action(t.id, `scroll_page_lines:${"9".repeat(20)}`);
    assert.equal(terminals.details(t.id, "visible").value, bottom);
  });

  it("refuses unknown buttons, actions and momentum, and points that are not numbers", () => {
    assert.throws(() => terminals.mouseButton(t.id, "fourth", undefined, []), { reason: "invalid_button" });
    assert.throws(() => terminals.mouseButton(t.id, "left", "hold", []), { reason: "invalid_argument" });
    assert.throws(() => terminals.mousePosition(t.id, Number.NaN, 0, []), { reason: "invalid_argument", message: "x and y must be finite numbers" });
    assert.throws(() => terminals.mouseScroll(t.id, 0, Infinity, false, undefined), { reason: "invalid_argument", message: "x and y must be finite numbers" });
    assert.throws(() => terminals.mouseScroll(t.id, 0, 1, false, "sideways"), { reason: "invalid_argument" });
  });
});
