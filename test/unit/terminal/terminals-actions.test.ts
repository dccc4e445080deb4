import assert from "node:assert/strict";
import type { ClipboardStore } from "../../../server/clipboard/store";
import type { Terminal } from "../../../generated/ghostd/terminal/v1/terminal";
import type { Terminals } from "../../../server/terminal/terminals";
import { fakeTerminals, type FakePtyHost } from "./fake-pty-host";

const failed = (message: string) => ({ reason: "action_failed", message });

describe("terminals: actions (fake PTYs)", () => {
  let terminals: Terminals;
  let host: FakePtyHost;
  let clipboard: ClipboardStore;
  beforeEach(() => ({ terminals, host, clipboard } = fakeTerminals()));
  afterEach(() => terminals.closeAll());
  const window = (): Promise<Terminal> => terminals.create({ location: "window", env: {} });
  const others = (t: Terminal): Terminal[] => terminals.list().filter((o) => o.windowId === t.windowId && o.id !== t.id);
  const focused = (): string => terminals.focused().id;

  it("opens tabs and goes to them by number, next, previous and last", async () => {
    const a = await window();
    await assert.rejects(terminals.action(a.id, "goto_tab:2"), failed("goto_tab: the window has 1 tab"));
    await terminals.action(a.id, "new_tab");
    const [b] = others(a);
    assert.ok(b);
    assert.deepEqual([b.tab, b.focused, b.columns, b.rows], [2, true, 120, 40]);
    await terminals.action(a.id, "goto_tab:1");
    assert.equal(focused(), a.id);
    await terminals.action(a.id, "next_tab");
    assert.equal(focused(), b.id);
    await terminals.action(b.id, "next_tab");
    assert.equal(focused(), a.id);
    await terminals.action(a.id, "previous_tab");
    assert.equal(focused(), b.id);
    await terminals.action(b.id, "goto_tab:1");
    await terminals.action(a.id, "last_tab");
    assert.equal(focused(), b.id);
    await assert.rejects(terminals.action(a.id, "goto_tab:9"), failed("goto_tab: the window has 2 tabs"));
    await terminals.action(a.id, "close_tab");
    assert.deepEqual(terminals.list().map((t) => [t.id, t.tab]), [[b.id, 1]]);
  });

  it("splits, moves between splits, zooms, resizes and equalizes", async () => {
    const a = await window();
    await assert.rejects(terminals.action(a.id, "toggle_split_zoom"), failed("toggle_split_zoom: the tab has a single terminal"));
    await terminals.action(a.id, "new_split:right");
    const [b] = others(a);
    assert.ok(b);
    assert.equal(focused(), b.id);
    await terminals.action(b.id, "goto_split:left");
    assert.equal(focused(), a.id);
    await assert.rejects(terminals.action(a.id, "goto_split:up"), failed("goto_split: there is no split up of this one"));
    await terminals.action(a.id, "goto_split:next");
    assert.equal(focused(), b.id);
    await terminals.action(a.id, "toggle_split_zoom");
    assert.equal(terminals.get(a.id).columns, 120);
    await terminals.action(a.id, "toggle_split_zoom");
    assert.equal(terminals.get(a.id).columns, 60);
    await terminals.action(a.id, "resize_split:right,100");
    assert.deepEqual([terminals.get(a.id).columns, terminals.get(b.id).columns], [70, 50]);
    assert.deepEqual(host.pty(b.id).sizes.at(-1), [50, 40]);
    await assert.rejects(terminals.action(a.id, "resize_split:up,10"), failed("resize_split: no split divides this terminal vertically"));
    await terminals.action(a.id, "equalize_splits");
    assert.equal(terminals.get(a.id).columns, 60);
    await terminals.action(a.id, "close_window");
    assert.deepEqual(terminals.list(), []);
  });

  it("closes the terminal with close_surface, and opens a window with new_window", async () => {
    const a = await window();
    await terminals.action(a.id, "new_window");
    const b = terminals.list().find((t) => t.id !== a.id);
    assert.ok(b);
    assert.notEqual(b.windowId, a.windowId);
    await terminals.action(a.id, "close_surface");
    assert.deepEqual(terminals.list().map((t) => t.id), [b.id]);
    assert.deepEqual(host.pty(a.id).signals, ["SIGHUP"]);
  });

  it("toggles the quick terminal, which has no windows, tabs or splits of its own", async () => {
    const a = await window();
    await terminals.action(a.id, "toggle_quick_terminal");
    const [quick] = await terminals.quickTerminal();
    assert.ok(quick);
    for (const action of ["new_tab", "new_split:down", "goto_split:next", "next_tab", "toggle_split_zoom", "equalize_splits", "resize_split:up,1"]) {
      const name = action.split(":")[0] ?? action;
      await assert.rejects(terminals.action(quick.id, action), failed(`${name}: the quick terminal has no windows, tabs or splits of its own`));
    }
    await terminals.action(quick.id, "toggle_quick_terminal");
    assert.deepEqual(terminals.list().map((t) => t.id), [a.id]);
  });

  it("selects everything and copies it to the clipboard; copying nothing fails", async () => {
    const t = await window();
    await assert.rejects(terminals.action(t.id, "copy_to_clipboard"), failed("copy_to_clipboard: nothing is selected"));
    host.pty(t.id).print("alpha beta\r\ngamma");
    await terminals.wait(t.id, { id: t.id, match: "gamma" }, new AbortController().signal);
    await terminals.action(t.id, "select_all");
    assert.match(terminals.details(t.id, "selection").value, /^alpha beta\ngamma/);
    await terminals.action(t.id, "copy_to_clipboard");
    assert.match(clipboard.text, /^alpha beta\ngamma/);
    await terminals.action(t.id, "clear_screen");
    assert.equal(terminals.details(t.id, "selection").value, "");
    await terminals.action(t.id, "select_all");
    await terminals.action(t.id, "reset");
    assert.equal(terminals.details(t.id, "selection").value, "");
  });

  it("pastes the clipboard with Enter for line breaks, in brackets once the program asks for them", async () => {
    const t = await window();
    const pty = host.pty(t.id);
    clipboard.set(Buffer.from("one\ntwo"));
    await terminals.action(t.id, "paste_from_clipboard");
    assert.equal(pty.written, "one\rtwo");
    await terminals.output(t.id, "\x1b[?2004h");
    clipboard.set(Buffer.from("x\x1b[201~y"));
    await terminals.action(t.id, "paste_from_clipboard");
    assert.equal(pty.writes.at(-1), "\x1b[200~xy\x1b[201~");
  });

  it("types input as keys with paste false, and as a paste by default", async () => {
    const t = await window();
    const pty = host.pty(t.id);
    await terminals.output(t.id, "\x1b[?2004h");
    terminals.input(t.id, "a\nb", true);
    assert.equal(pty.writes.at(-1), "\x1b[200~a\rb\x1b[201~\r");
    terminals.input(t.id, "a\nb", true, false);
    assert.equal(pty.writes.at(-1), "a\rb\r");
  });

  it("writes the bytes of text:, csi: and esc:, and sets the title", async () => {
    const t = await window();
    await terminals.action(t.id, "text:echo from-\\x61ction\\n");
    await terminals.action(t.id, "csi:D");
    await terminals.action(t.id, "esc:b");
    assert.deepEqual(host.pty(t.id).writes, ["echo from-action\n", "\x1b[D", "\x1bb"]);
    await terminals.action(t.id, "set_surface_title:Fixed");
    assert.equal(terminals.get(t.id).title, "Fixed");
  });

  it("scales the cells with the font size, between 4 and 96 points, and resets it", async () => {
    const t = await window();
    const cells = (): number[] => {
      const { cellWidth, cellHeight, columns, rows } = terminals.get(t.id);
      return [cellWidth, cellHeight, columns, rows];
    };
    await terminals.action(t.id, "increase_font_size:13");
    assert.deepEqual(cells(), [20, 40, 60, 20]);
    assert.deepEqual(host.pty(t.id).sizes.at(-1), [60, 20]);
    await terminals.action(t.id, "increase_font_size:500");
    assert.deepEqual(cells().slice(0, 2), [74, 148]);
    await terminals.action(t.id, "decrease_font_size:500");
    assert.deepEqual(cells(), [3, 6, 400, 133]);
    await terminals.action(t.id, "reset_font_size");
    assert.deepEqual(cells(), [10, 20, 120, 40]);
  });

  it("scrolls with the scroll actions", async () => {
    const t = await window();
    await terminals.output(t.id, Array.from({ length: 100 }, (_, i) => `line-${i}`).join("\r\n"));
    const bottom = terminals.details(t.id, "visible").value;
    await terminals.action(t.id, "scroll_to_top");
    assert.match(terminals.details(t.id, "visible").value, /^line-0\n/);
    await terminals.action(t.id, "scroll_page_down");
    await terminals.action(t.id, "scroll_page_lines:1");
    assert.match(terminals.details(t.id, "visible").value, /^line-40\n/);
    await terminals.action(t.id, "scroll_page_up");
    assert.match(terminals.details(t.id, "visible").value, /^line-1\n/);
    await terminals.action(t.id, "scroll_to_bottom");
    assert.equal(terminals.details(t.id, "visible").value, bottom);
  });

  it("fails what a headless terminal cannot do, and refuses what is not an action", async () => {
    const t = await window();
    for (const name of ["toggle_fullscreen", "toggle_command_palette"]) {
      await assert.rejects(terminals.action(t.id, name), failed(`${name}: a headless terminal has no window to show it in`));
    }
    await assert.rejects(terminals.action(t.id, "launch_rockets"), { reason: "invalid_action" });
  });
});
