import assert from "node:assert/strict";
import type { CreateTerminalRequest, Terminal } from "../../../generated/ghostd/terminal/v1/terminal";
import { TerminalKind } from "../../../generated/ghostd/terminal/v1/terminal";
import type { Terminals } from "../../../server/terminal/terminals";
import { fakeTerminals, type FakePtyHost } from "./fake-pty-host";

const size = (t: Terminal): [number, number] => [t.columns, t.rows];
const UNKNOWN = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

describe("terminals: windows, tabs, splits, focus and the quick terminal (fake PTYs)", () => {
  let terminals: Terminals;
  let host: FakePtyHost;
  beforeEach(() => ({ terminals, host } = fakeTerminals()));
  afterEach(() => terminals.closeAll());
  const create = (location = "", fields: Partial<CreateTerminalRequest> = {}): Promise<Terminal> => terminals.create({ location, env: {}, ...fields });

  it("creates a window of the configured size, focused, on a login shell with the terminal's environment", async () => {
    const t = await create("", { env: { EXTRA: "1" } });
    assert.equal(t.kind, TerminalKind.TERMINAL_KIND_NORMAL);
    assert.deepEqual([t.columns, t.rows, t.cellWidth, t.cellHeight, t.focused, t.tab], [120, 40, 10, 20, true, 1]);
    assert.equal(terminals.focused().id, t.id);
    const { options } = host.pty(t.id);
    assert.deepEqual([options.columns, options.rows, options.args], [120, 40, ["-l"]]);
    assert.deepEqual([options.env.TERM, options.env.TERM_PROGRAM, options.env.EXTRA, options.env.PATH], ["xterm-256color", "ghostd", "1", "/usr/bin:/bin"]);
  });

  it("halves the parent on a split, resizes its PTY, and gives the space back when the split closes", async () => {
    const main = await create();
    const right = await create("split:right", { parent: main.id });
    const down = await create("split:down", { parent: main.id });
    assert.deepEqual([size(terminals.get(main.id)), size(terminals.get(right.id)), size(terminals.get(down.id))], [[60, 20], [60, 40], [60, 20]]);
    assert.deepEqual(host.pty(main.id).sizes, [[60, 40], [60, 20]]);
    assert.ok([main, right, down].every((t) => terminals.get(t.id).windowId === main.windowId));
    await terminals.close(down.id);
    assert.deepEqual(size(terminals.get(main.id)), [60, 40]);
    await terminals.close(right.id);
    assert.deepEqual(size(terminals.get(main.id)), [120, 40]);
    assert.deepEqual(host.pty(main.id).signals, []);
    assert.deepEqual(host.pty(right.id).signals, ["SIGHUP"]);
  });

  it("puts a split or tab next to the focused terminal when no parent is named; a tab has the whole window", async () => {
    const first = await create();
    const split = await create("split:down");
    assert.equal(split.windowId, first.windowId);
    assert.equal(terminals.get(first.id).rows, 20);
    const tab = await create("tab");
    assert.deepEqual([tab.windowId, tab.tab, tab.focused, ...size(tab)], [first.windowId, 2, true, 120, 40]);
    terminals.focus(first.id);
    assert.deepEqual([terminals.get(first.id).focused, terminals.get(tab.id).focused], [true, false]);
  });

  it("focuses the most recently focused terminal when the focused one closes", async () => {
    const a = await create();
    const b = await create();
    const c = await create();
    terminals.focus(a.id);
    terminals.focus(c.id);
    await terminals.close(c.id);
    assert.equal(terminals.focused().id, a.id);
    await terminals.close(a.id);
    assert.equal(terminals.focused().id, b.id);
    await terminals.close(b.id);
    assert.throws(() => terminals.focused(), { reason: "no_focused_terminal", message: "No terminal is currently focused" });
  });

  it("closes a terminal whose shell exits on its own, and gives its space back", async () => {
    const left = await create();
    const right = await create("split:right");
    host.pty(right.id).exit(0);
    assert.deepEqual(terminals.list().map((t) => t.id), [left.id]);
    assert.deepEqual([...size(terminals.get(left.id)), terminals.focused().id], [120, 40, left.id]);
  });

  it("opens one quick terminal, however often it is asked for, with no tabs or splits", async () => {
    const [first, second] = await Promise.all([terminals.quickTerminal(), terminals.quickTerminal()]);
    const quick = first[0];
    assert.ok(quick);
    assert.deepEqual([quick.kind, ...size(quick)], [TerminalKind.TERMINAL_KIND_QUICK, 120, 20]);
    assert.equal(second[0]?.id, quick.id);
    assert.equal((await terminals.quickTerminal())[0]?.id, quick.id);
    assert.equal(host.ptys.length, 1);
    for (const location of ["tab", "split:right"]) {
      await assert.rejects(create(location, { parent: quick.id }), {
        reason: "invalid_location",
        message: "the quick terminal has no tabs or splits; create a window instead",
      });
    }
    const window = await create("window", { parent: quick.id });
    assert.notEqual(window.windowId, quick.windowId);
    await terminals.close(quick.id);
    assert.notEqual((await terminals.quickTerminal())[0]?.id, quick.id);
  });

  it("refuses unknown locations, bad ids and relative working directories", async () => {
    await assert.rejects(create("moon"), {
      reason: "invalid_location",
      message: '"moon" is not a location; use window, tab, split:left, split:right, split:up or split:down',
    });
    await assert.rejects(create("tab", { parent: "nope" }), { reason: "invalid_uuid", message: '"nope" is not a UUID' });
    await assert.rejects(create("tab", { parent: UNKNOWN }), { reason: "terminal_not_found", message: `no terminal ${UNKNOWN}` });
    await assert.rejects(create("", { workingDirectory: "relative" }), {
      reason: "invalid_argument",
      message: 'working_directory "relative" is not an absolute path',
    });
    assert.equal(host.ptys.length, 0);
  });

  it("gives the space back when a shell cannot be started", async () => {
    const main = await create();
    host.failNext = "no such file";
    await assert.rejects(create("split:right"), { reason: "spawn_failed", message: "cannot start /bin/bash: no such file" });
    assert.deepEqual([terminals.list().length, ...size(terminals.get(main.id)), terminals.focused().id], [1, 120, 40, main.id]);
  });

  it("keeps a terminal's own status bar values over its window's, and toggles visibility", async () => {
    const a = await create();
    const b = await create("split:right");
    terminals.setStatusBar(a.id, { id: a.id, left: "branch: main", center: "build 123", right: "OK", visible: true });
    assert.deepEqual(terminals.get(a.id).statusbar, { left: "branch: main", center: "build 123", right: "OK", visible: true });
    terminals.setStatusBar(a.id, { id: a.id, right: "window-wide", scope: "window", visible: true });
    assert.deepEqual(terminals.get(b.id).statusbar, { left: "", center: "", right: "window-wide", visible: true });
    assert.equal(terminals.get(a.id).statusbar?.right, "OK");
    terminals.setStatusBar(a.id, { id: a.id, toggle: true, visible: true });
    assert.equal(terminals.get(a.id).statusbar?.visible, false);
    assert.throws(() => terminals.setStatusBar(a.id, { id: a.id, scope: "galaxy" }), { reason: "invalid_argument", message: 'scope "galaxy" is not surface or window' });
  });

  it("takes a terminal's UUID in capitals for its status bar, as everywhere else", async () => {
    const a = await create();
    terminals.setStatusBar(a.id.toUpperCase(), { id: a.id, left: "own", visible: true });
    terminals.setStatusBar(a.id.toUpperCase(), { id: a.id, right: "window's", scope: "window" });
    assert.deepEqual(terminals.get(a.id).statusbar, { left: "own", center: "", right: "window's", visible: true });
  });
});
