import assert from "node:assert/strict";
import { cwdFromOsc7, Emulator, nextShellState } from "../../../server/terminal/emulator";
import { cellAt, encodeMouse } from "../../../server/terminal/mouse";

function emulator(columns = 20, rows = 5): { emu: Emulator; replies: string[] } {
  const replies: string[] = [];
  const emu = new Emulator({ columns, rows, scrollback: 100, reply: (d) => replies.push(d), changed: () => undefined });
  return { emu, replies };
}

describe("emulator", () => {
  it("joins wrapped rows, trims each line and keeps the prompt up to the cursor", async () => {
    const { emu } = emulator(10, 5);
    await emu.write("first   \r\n0123456789abc\r\n$ ");
    assert.equal(emu.contents(), "first\n0123456789abc\n$ ");
    emu.dispose();
  });

  it("counts character widths as glibc and tmux do, so a cursor report (DSR) matches the shell's", async () => {
    // Columns after each text, as wcwidth() sums them: emoji and CJK 2, a skin tone 2 more, a combining mark 0.
    const cases: [string, number][] = [["👍", 2], ["⚡", 2], ["👍🏽", 4], ["日本", 4], ["e\u0301", 1], ["👍👍👍 end", 10]];
    for (const [text, width] of cases) {
      const { emu, replies } = emulator(40, 3);
      await emu.write(`${text}\x1b[6n`);
      assert.deepEqual(replies, [`\x1b[1;${width + 1}R`], JSON.stringify(text));
      emu.dispose();
    }
  });

  it("gives rows as displayed when asked: wrapped rows apart, blank rows kept", async () => {
    const { emu } = emulator(10, 4);
    await emu.write("0123456789abcdefghijklmno\r\n$ ");
    assert.equal(emu.visible(), "0123456789abcdefghijklmno\n$ ");
    assert.equal(emu.visible({ rows: true }), "0123456789\nabcdefghij\nklmno\n$");
    await emu.write("\r\n\r\n\r\nlast");
    assert.deepEqual(emu.visible({ rows: true }).split("\n"), ["$", "", "", "last"], "exactly one line per row");
    assert.deepEqual(emu.contents({ rows: true }).split("\n"), ["0123456789", "abcdefghij", "klmno", "$", "", "", "last"]);
    emu.dispose();
  });

  it("gives styled rows with SGR escapes, each row starting and ending in default attributes", async () => {
    const { emu } = emulator(12, 4);
    await emu.write("a \x1b[1;31mbold red\x1b[0m\r\n\x1b[44;38;5;208mlong blue row\x1b[0m\r\n\x1b[38;2;1;2;3;7mx\x1b[27;93m日\x1b[0m  ");
    assert.deepEqual(emu.visible({ styled: true }).split("\n"), [
      "a \x1b[0;1;31mbold red\x1b[0m",
      "\x1b[0;38;5;208;44mlong blue ro\x1b[0m",
      "\x1b[0;38;5;208;44mw\x1b[0m",
      "\x1b[0;7;38;2;1;2;3mx\x1b[0;93m日\x1b[0m",
    ]);
    await emu.write("\x1b[2J\x1b[H\x1b[42m   \x1b[0m   ");
    assert.equal(emu.visible({ styled: true }).split("\n")[0], "\x1b[0;42m   \x1b[0m", "a coloured blank shows, a plain one is trimmed");
    emu.dispose();
  });

  it("styles the alternate screen while a full-screen program runs", async () => {
    const { emu } = emulator(10, 2);
    await emu.write("shell\x1b[?1049h\x1b[H\x1b[1mTOP\x1b[0m");
    assert.equal(emu.visible({ styled: true }), "\x1b[0;1mTOP\x1b[0m\n");
    await emu.write("\x1b[?1049l");
    assert.equal(emu.visible({ styled: true }), "shell\n");
    emu.dispose();
  });

  it("separates the scrollback from the viewport", async () => {
    const { emu } = emulator(10, 3);
    await emu.write(Array.from({ length: 8 }, (_, i) => `line${i}`).join("\r\n"));
    assert.equal(emu.visible(), "line5\nline6\nline7");
    assert.equal(emu.contents().split("\n").length, 8);
    emu.scrollLines(-2);
    assert.equal(emu.visible(), "line3\nline4\nline5");
    assert.equal(emu.atBottom, false);
    emu.dispose();
  });

  it("reads OSC 0/2 titles, OSC 7 directories and OSC 133 marks", async () => {
    const { emu } = emulator();
    await emu.write("\x1b]0;my title\x07\x1b]7;file://host/tmp/a%20b\x07\x1b]133;A\x07");
    assert.equal(emu.title, "my title");
    assert.equal(emu.cwd, "/tmp/a b");
    assert.deepEqual(emu.shell, { integrated: true, atPrompt: true, lastExitCode: undefined, prompts: 1 });
    await emu.write("\x1b]133;C\x07");
    assert.equal(emu.shell.atPrompt, false);
    await emu.write("\x1b]133;D;3\x07\x1b]133;A\x07");
    assert.deepEqual(emu.shell, { integrated: true, atPrompt: true, lastExitCode: 3, prompts: 2 });
    assert.equal(cwdFromOsc7("http://x/y"), undefined);
    assert.deepEqual(nextShellState(emu.shell, "Z"), emu.shell);
    emu.dispose();
  });

  it("tracks the modes input encoding depends on", async () => {
    const { emu, replies } = emulator();
    assert.equal(emu.modes.mouseTracking, "none");
    await emu.write("\x1b[?1h\x1b[?2004h\x1b[?1002;1006h\x1b[?1049h");
    assert.deepEqual(emu.modes, { applicationCursorKeys: true, bracketedPaste: true, mouseTracking: "drag", sgrMouse: true, kittyFlags: 0, alternateScreen: true });
    await emu.write("\x1b[>1u\x1b[>3u\x1b[?u");
    assert.equal(emu.modes.kittyFlags, 3);
    assert.equal(replies.at(-1), "\x1b[?3u", "answers the kitty flags query");
    await emu.write("\x1b[<u");
    assert.equal(emu.modes.kittyFlags, 1);
    await emu.write("\x1b[=8;2u");
    assert.equal(emu.modes.kittyFlags, 9);
    await emu.write("\x1bc");
    assert.equal(emu.modes.kittyFlags, 0, "a full reset forgets the stack");
    assert.equal(emu.modes.sgrMouse, false);
    emu.dispose();
  });
});

describe("mouse encoding", () => {
  const none = new Set<never>();
  it("maps points to cells", () => {
    assert.deepEqual(cellAt(25, 45, { width: 10, height: 20 }, { columns: 80, rows: 24 }), { column: 2, row: 2 });
    assert.deepEqual(cellAt(-5, 99999, { width: 10, height: 20 }, { columns: 80, rows: 24 }), { column: 0, row: 23 });
  });

  it("writes SGR and legacy reports as the tracking mode allows", () => {
    const at = { column: 2, row: 2 };
    assert.equal(encodeMouse({ kind: "press", button: "left" }, at, none, "vt200", true), "\x1b[<0;3;3M");
    assert.equal(encodeMouse({ kind: "release", button: "left" }, at, none, "vt200", true), "\x1b[<0;3;3m");
    assert.equal(encodeMouse({ kind: "press", button: "right" }, at, new Set(["control", "shift"] as const), "vt200", true), "\x1b[<22;3;3M");
    assert.equal(encodeMouse({ kind: "wheel", direction: "up" }, at, none, "vt200", true), "\x1b[<64;3;3M");
    assert.equal(encodeMouse({ kind: "wheel", direction: "down" }, at, none, "vt200", true), "\x1b[<65;3;3M");
    assert.equal(encodeMouse({ kind: "motion", button: "left" }, at, none, "drag", true), "\x1b[<32;3;3M");
    assert.equal(encodeMouse({ kind: "motion", button: undefined }, at, none, "drag", true), undefined);
    assert.equal(encodeMouse({ kind: "motion", button: undefined }, at, none, "any", true), "\x1b[<35;3;3M");
    assert.equal(encodeMouse({ kind: "motion", button: "left" }, at, none, "vt200", true), undefined);
    assert.equal(encodeMouse({ kind: "release", button: "left" }, at, none, "x10", true), undefined);
    const legacy = (bytes: string | Uint8Array | undefined): string | undefined => (bytes instanceof Uint8Array ? Buffer.from(bytes).toString("latin1") : bytes);
    assert.equal(legacy(encodeMouse({ kind: "press", button: "left" }, at, none, "vt200", false)), "\x1b[M #\x23");
    assert.equal(legacy(encodeMouse({ kind: "release", button: "left" }, at, none, "vt200", false)), "\x1b[M##\x23");
    assert.equal(encodeMouse({ kind: "press", button: "left" }, at, none, "none", true), undefined);
  });
});
