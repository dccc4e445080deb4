import assert from "node:assert/strict";
import { DomainError } from "../../../server/errors";
import { encodeKey, parseMods, type KeyboardModes, type Modifier } from "../../../server/terminal/keys";

const legacy: KeyboardModes = { applicationCursorKeys: false, kittyFlags: 0 };
const decckm: KeyboardModes = { applicationCursorKeys: true, kittyFlags: 0 };
const press = (key: string, mods: Modifier[] = [], modes = legacy, action: "press" | "release" = "press") =>
  encodeKey({ key, mods: new Set(mods), action }, modes).bytes;

describe("key encoding", () => {
  it("sends xterm's cursor keys, SS3 under application cursor mode, CSI 1;m with modifiers", () => {
    assert.equal(press("up"), "\x1b[A");
    assert.equal(press("left"), "\x1b[D");
    assert.equal(press("up", [], decckm), "\x1bOA");
    assert.equal(press("home", [], decckm), "\x1bOH");
    assert.equal(press("end"), "\x1b[F");
    assert.equal(press("up", ["control"]), "\x1b[1;5A");
    assert.equal(press("up", ["control"], decckm), "\x1b[1;5A");
    assert.equal(press("right", ["shift", "option"]), "\x1b[1;4C");
  });

  it("sends function and editing keys", () => {
    assert.deepEqual(["f1", "f2", "f3", "f4"].map((k) => press(k)), ["\x1bOP", "\x1bOQ", "\x1bOR", "\x1bOS"]);
    assert.deepEqual(["f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12"].map((k) => press(k)), [15, 17, 18, 19, 20, 21, 23, 24].map((n) => `\x1b[${n}~`));
    assert.equal(press("f5", ["shift"]), "\x1b[15;2~");
    assert.equal(press("f1", ["control"]), "\x1b[1;5P");
    assert.equal(press("insert"), "\x1b[2~");
    assert.equal(press("delete"), "\x1b[3~");
    assert.equal(press("page_up"), "\x1b[5~");
    assert.equal(press("page_down", ["control"]), "\x1b[6;5~");
  });

  it("sends C0 bytes for Ctrl, ESC for option, and the usual keys", () => {
    assert.equal(press("c", ["control"]), "\x03");
    assert.equal(press("a", ["control"]), "\x01");
    assert.equal(press("z", ["control"]), "\x1a");
    assert.equal(press("space", ["control"]), "\x00");
    assert.equal(press("[", ["control"]), "\x1b");
    assert.equal(press("x", ["option"]), "\x1bx");
    assert.equal(press("c", ["control", "option"]), "\x1b\x03");
    assert.equal(press("enter"), "\r");
    assert.equal(press("tab"), "\t");
    assert.equal(press("tab", ["shift"]), "\x1b[Z");
    assert.equal(press("backspace"), "\x7f");
    assert.equal(press("escape"), "\x1b");
    assert.equal(press("space"), " ");
    assert.equal(press("a"), "a");
    assert.equal(press("a", ["shift"]), "A");
    assert.equal(press("1", ["shift"]), "!");
    assert.equal(press("7"), "7");
    assert.equal(press("/"), "/");
    assert.equal(press("Enter"), "\r");
    assert.equal(press("PageUp"), "\x1b[5~");
  });

  it("sends nothing for a release or the command key without the kitty protocol, and says why", () => {
    const release = encodeKey({ key: "a", mods: new Set(), action: "release" }, legacy);
    assert.equal(release.bytes, "");
    assert.ok("note" in release && /kitty/.test(release.note));
    const command = encodeKey({ key: "s", mods: new Set(["command"]), action: "press" }, legacy);
    assert.ok("note" in command && /command key/.test(command.note));
  });

  it("speaks the kitty keyboard protocol once the program pushed its flags", () => {
    const kitty1: KeyboardModes = { applicationCursorKeys: false, kittyFlags: 1 };
    const kitty3: KeyboardModes = { applicationCursorKeys: false, kittyFlags: 3 };
    const kitty8: KeyboardModes = { applicationCursorKeys: false, kittyFlags: 8 };
    assert.equal(press("a", [], kitty1), "a", "plain text stays text under disambiguate");
    assert.equal(press("enter", [], kitty1), "\r");
    assert.equal(press("escape", [], kitty1), "\x1b[27u");
    assert.equal(press("c", ["control"], kitty1), "\x1b[99;5u");
    assert.equal(press("s", ["command"], kitty1), "\x1b[115;9u");
    assert.equal(press("a", ["shift"], kitty1), "A");
    assert.equal(press("up", ["control"], kitty1), "\x1b[1;5A");
    assert.equal(press("a", [], kitty3, "release"), "\x1b[97;1:3u");
    assert.equal(press("up", [], kitty3, "release"), "\x1b[1;1:3A");
    assert.equal(press("f5", [], kitty3, "release"), "\x1b[15;1:3~");
    assert.equal(press("a", [], kitty8), "\x1b[97u");
    const noEvents = encodeKey({ key: "a", mods: new Set(), action: "release" }, kitty1);
    assert.ok("note" in noEvents && /flag 2/.test(noEvents.note));
  });

  it("refuses unknown keys and modifiers with invalid_key", () => {
    assert.throws(() => press("hyper"), (err: unknown) => err instanceof DomainError && err.reason === "invalid_key");
    assert.throws(() => parseMods(["meta-ish"]), (err: unknown) => err instanceof DomainError && err.reason === "invalid_key");
    assert.deepEqual([...parseMods(["ctrl", "alt", "cmd", "shift"])].sort(), ["command", "control", "option", "shift"]);
  });
});
