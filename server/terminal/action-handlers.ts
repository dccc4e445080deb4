import type { CreateTerminalRequest } from "../../generated/ghostd/terminal/v1/terminal";
import type { ClipboardStore } from "../clipboard/store";
import type { DomainError } from "../errors";
import type { Action } from "./actions";
import type { Pointers } from "./pointer";
import { terminalError } from "./reasons";
import type { Session } from "./session";
import type { Workspace } from "./workspace";

/** What an action works on: its terminal, and the parts of the daemon's terminals it may change. */
export interface ActionContext {
  readonly session: Session;
  readonly workspace: Workspace;
  readonly pointers: Pointers;
  readonly clipboard: ClipboardStore;
  /** Opening, closing and typing go through the API's own operations, checks and all. */
  readonly terminals: {
    create(request: CreateTerminalRequest): Promise<unknown>;
    close(id: string): Promise<void>;
    input(id: string, text: string, enter: boolean): void;
    quickTerminal(): Promise<unknown>;
  };
}

/** The action of that name; a member of the union that covers several names narrows to one. */
type ActionNamed<N extends Action["name"]> = Action & { readonly name: N };
type Handler<N extends Action["name"]> = (context: ActionContext, action: ActionNamed<N>) => void | Promise<void>;

/** Performs a parsed action on the context's terminal; an impossible one fails with action_failed. */
export async function performAction(context: ActionContext, action: Action): Promise<void> {
  // The table has a handler for each name; TypeScript cannot see that the name picks the matching one.
  const handler = HANDLERS[action.name] as Handler<Action["name"]>;
  await handler(context, action);
}

const HANDLERS: { readonly [N in Action["name"]]: Handler<N> } = {
  new_window: (c, a) => open(c, a, "window"),
  new_tab: (c, a) => open(c, a, "tab"),
  new_split: (c, a) => open(c, a, `split:${a.direction}`),
  goto_split: (c, a) => {
    notQuick(c, a);
    const target = c.workspace.layout.neighbour(c.session.id, a.where);
    if (!target) throw failed(a, `there is no split ${a.where} of this one`);
    c.workspace.focus(target);
  },
  goto_tab: (c, a) => gotoTab(c, a, () => a.tab),
  next_tab: (c, a) => gotoTab(c, a, (count, current) => (current % count) + 1),
  previous_tab: (c, a) => gotoTab(c, a, (count, current) => ((current + count - 2) % count) + 1),
  last_tab: (c, a) => gotoTab(c, a, (count) => count),
  close_surface: (c) => c.terminals.close(c.session.id),
  close_tab: (c) => closeEach(c, c.workspace.layout.terminalsOfTab(c.session.id)),
  close_window: (c) => closeEach(c, c.workspace.layout.terminalsOfWindow(c.session.id)),
  toggle_split_zoom: (c, a) => {
    notQuick(c, a);
    if (!c.workspace.layout.toggleZoom(c.session.id)) throw failed(a, "the tab has a single terminal");
    c.workspace.relayout();
  },
  equalize_splits: (c, a) => {
    notQuick(c, a);
    c.workspace.layout.equalize(c.session.id);
    c.workspace.relayout();
  },
  resize_split: (c, a) => {
    notQuick(c, a);
    if (!c.workspace.layout.resize(c.session.id, a.direction, a.amount, c.workspace.cellSize(c.session))) {
      throw failed(a, `no split divides this terminal ${a.direction === "up" || a.direction === "down" ? "vertically" : "horizontally"}`);
    }
    c.workspace.relayout();
  },
  scroll_page_up: ({ session }) => session.emulator.scrollPages(-1),
  scroll_page_down: ({ session }) => session.emulator.scrollPages(1),
  scroll_to_top: ({ session }) => session.emulator.scrollToTop(),
  scroll_to_bottom: ({ session }) => session.emulator.scrollToBottom(),
  scroll_page_lines: ({ session }, a) => session.emulator.scrollLines(a.lines),
  clear_screen: ({ session, pointers }) => {
    pointers.clearSelection(session);
    session.emulator.clear();
  },
  reset: ({ session, pointers }) => {
    pointers.clearSelection(session);
    session.emulator.reset();
  },
  select_all: ({ session, pointers }) => pointers.selectAll(session),
  copy_to_clipboard: (c, a) => {
    const text = c.pointers.selectionText(c.session);
    if (text === "") throw failed(a, "nothing is selected");
    c.clipboard.set(Buffer.from(text, "utf8"));
  },
  paste_from_clipboard: (c) => c.terminals.input(c.session.id, c.clipboard.text, false),
  text: ({ session }, a) => session.send(a.value),
  csi: ({ session }, a) => session.send(`\x1b[${a.value}`),
  esc: ({ session }, a) => session.send(`\x1b${a.value}`),
  set_surface_title: ({ session }, a) => {
    session.titleOverride = a.value;
  },
  increase_font_size: (c, a) => setFontSize(c, c.session.fontSize + a.points),
  decrease_font_size: (c, a) => setFontSize(c, c.session.fontSize - a.points),
  reset_font_size: (c) => setFontSize(c, c.workspace.baseFontSize),
  toggle_quick_terminal: async (c) => {
    const quick = c.workspace.quick();
    if (quick) await c.terminals.close(quick.id);
    else await c.terminals.quickTerminal();
  },
  toggle_fullscreen: (_, a) => headless(a),
  toggle_command_palette: (_, a) => headless(a),
};

function failed(action: Action, why: string): DomainError {
  return terminalError("action_failed", `${action.name}: ${why}`);
}

/** Tabs and splits are a normal terminal's: the quick terminal has a window to itself. */
function notQuick(c: ActionContext, action: Action): void {
  if (c.session.kind === "quick") throw failed(action, "the quick terminal has no windows, tabs or splits of its own");
}

/** A new terminal next to this one; any terminal may open a window, only a normal one a tab or split. */
async function open(c: ActionContext, action: Action, location: string): Promise<void> {
  if (location !== "window") notQuick(c, action);
  await c.terminals.create({ location, parent: c.session.id, env: {} });
}

/** Focuses the tab `pick` chooses from the tab count and the current tab's number (both 1-based). */
function gotoTab(c: ActionContext, action: Action, pick: (count: number, current: number) => number): void {
  notQuick(c, action);
  const { layout } = c.workspace;
  const count = layout.tabCount(c.session.id);
  const target = layout.tabTerminal(c.session.id, pick(count, layout.place(c.session.id).tabIndex + 1));
  if (!target) throw failed(action, `the window has ${count} tab${count === 1 ? "" : "s"}`);
  c.workspace.focus(target);
}

async function closeEach(c: ActionContext, ids: readonly string[]): Promise<void> {
  await Promise.all(ids.map((id) => c.terminals.close(id)));
}

/** Font sizes stay between 4 and 96 points; the cells, and so every PTY's size, follow. */
function setFontSize(c: ActionContext, size: number): void {
  c.session.fontSize = Math.min(Math.max(size, 4), 96);
  c.workspace.relayout();
}

function headless(action: Action): never {
  throw failed(action, "a headless terminal has no window to show it in");
}
