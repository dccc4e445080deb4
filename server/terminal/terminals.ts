import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import type {
  Command,
  CreateTerminalRequest,
  SetStatusBarRequest,
  StatusBar,
  Terminal,
  WaitRequest,
  WaitResponse,
  WatchScreenResponse,
} from "../../generated/ghostd/terminal/v1/terminal";
import { TerminalKind } from "../../generated/ghostd/terminal/v1/terminal";
import type { ClipboardStore } from "../clipboard/store";
import { commandCatalogue, parseAction, type Action } from "./actions";
import { encodeKey, parseKeyAction, parseMods, type Modifier } from "./keys";
import { Layout, type Direction } from "./layout";
import { cellAt, checkMomentum, encodeMouse, parseButton, parseMouseAction, type Button } from "./mouse";
import { terminalError } from "./reasons";
import { PtyHost } from "./pty-host/host";
import { Session } from "./session";
import type { Point } from "./buffer-text";

export interface TerminalSettings {
  /** Window size in cells at the configured font size, and the cell size in pixels. */
  readonly windowColumns: number;
  readonly windowRows: number;
  readonly cellWidth: number;
  readonly cellHeight: number;
  /** The font size (points) the cell size belongs to; font size actions scale from it. */
  readonly fontSize: number;
  readonly scrollback: number;
  /** Rows of the quick terminal, which spans the window's width. */
  readonly quickRows: number;
  /** The shell to run instead of `$SHELL`. */
  readonly shell: string | undefined;
  /** The environment terminals start from. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What a user does not set; the window, cell and scrollback come from the daemon's settings. */
export const DEFAULT_TERMINAL_SETTINGS: Pick<TerminalSettings, "fontSize" | "quickRows"> = {
  fontSize: 13,
  quickRows: 20,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOCATIONS = new Set(["window", "tab", "split:left", "split:right", "split:up", "split:down", "split:auto"]);
const DEFAULT_WAIT_MS = 10_000;
const MAX_WAIT_MS = 600_000;

interface Bar {
  left?: string;
  center?: string;
  right?: string;
  visible?: boolean;
}

interface MouseState {
  x: number;
  y: number;
  pressed: Set<Button>;
  selecting: boolean;
  selection: { anchor: Point; head: Point } | undefined;
}

/**
 * The terminals of one daemon: their sessions, their layout in windows, tabs and splits, focus,
 * the quick terminal, status bars, and everything the API does to them. Knows nothing of gRPC:
 * it takes and returns the contract's messages and raises DomainErrors with seed 001's reasons.
 */
export class Terminals {
  private readonly sessions = new Map<string, Session>();
  private readonly layout = new Layout();
  /** Most recently focused first; the head is the focused terminal. */
  private focusOrder: string[] = [];
  private quickId: string | undefined;
  private quickStarting: Promise<Terminal> | undefined;
  private readonly bars = new Map<string, Bar>();
  private readonly windowBars = new Map<string, Bar>();
  private readonly mice = new Map<string, MouseState>();
  private readonly host = new PtyHost();

  constructor(
    private readonly settings: TerminalSettings,
    private readonly clipboard: ClipboardStore,
  ) {}

  list(): Terminal[] {
    return [...this.sessions.values()].map((s) => this.describe(s));
  }

  get(id: string): Terminal {
    return this.describe(this.session(id));
  }

  focused(): Terminal {
    const id = this.focusOrder[0];
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) throw terminalError("no_focused_terminal", "No terminal is currently focused");
    return this.describe(session);
  }

  async create(request: CreateTerminalRequest): Promise<Terminal> {
    const location = request.location || "window";
    if (!LOCATIONS.has(location)) {
      throw terminalError("invalid_location", `"${location}" is not a location; use window, tab, split:left, split:right, split:up or split:down`);
    }
    let parent: Session | undefined;
    if (request.parent !== undefined && request.parent !== "") parent = this.session(request.parent);
    else if (location !== "window") parent = this.focusedSession();
    if (parent?.kind === "quick" && location !== "window") {
      throw terminalError("invalid_location", "the quick terminal has no tabs or splits; create a window instead");
    }
    const cwd = this.workingDirectory(request.workingDirectory, parent);
    const id = randomUUID();
    if (location === "window" || !parent) this.layout.addWindow(id, this.windowSize());
    else if (location === "tab") this.layout.addTab(parent.id, id);
    else this.layout.split(parent.id, id, location.slice("split:".length) as Direction | "auto");
    return this.start(id, "normal", cwd, request.env, request.command);
  }

  /** Opens the quick terminal once; later calls, concurrent ones included, return it. */
  async quickTerminal(): Promise<Terminal[]> {
    const existing = this.quickId === undefined ? undefined : this.sessions.get(this.quickId);
    if (existing) return [this.describe(existing)];
    if (!this.quickStarting) {
      const id = randomUUID();
      const { width } = this.windowSize();
      this.layout.addWindow(id, { width, height: this.settings.quickRows * this.settings.cellHeight }, "quick");
      this.quickId = id;
      this.quickStarting = this.start(id, "quick", homedir(), {}, undefined).finally(() => (this.quickStarting = undefined));
    }
    return [await this.quickStarting];
  }

  async close(id: string): Promise<void> {
    const session = this.session(id);
    this.detach(session);
    await session.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    for (const session of all) this.detach(session);
    await Promise.all(all.map((s) => s.close()));
    await this.host.close();
  }

  focus(id: string): void {
    this.focusOn(this.session(id).id);
  }

  input(id: string, text: string, enter: boolean): void {
    const session = this.session(id);
    // Pasted text: line breaks become Enter (CR), as terminals paste them; inside a bracketed
    // paste, an end marker in the text could end it early, so it is removed.
    let data = text.replace(/\r?\n/g, "\r");
    if (session.emulator.modes.bracketedPaste) data = `\x1b[200~${data.replaceAll("\x1b[201~", "")}\x1b[201~`;
    if (enter) data += "\r";
    this.send(session, data);
  }

  async output(id: string, data: string): Promise<void> {
    await this.session(id).feed(data);
  }

  setStatusBar(id: string, request: SetStatusBarRequest): void {
    const session = this.session(id);
    const scope = request.scope || "surface";
    if (scope !== "surface" && scope !== "window") throw terminalError("invalid_argument", `scope "${scope}" is not surface or window`);
    const effective = this.statusBar(session);
    let bar: Bar;
    if (scope === "window") {
      const windowId = this.layout.place(id).window.id;
      bar = this.windowBars.get(windowId) ?? {};
      this.windowBars.set(windowId, bar);
    } else {
      bar = this.bars.get(id) ?? {};
      this.bars.set(id, bar);
    }
    if (request.left !== undefined) bar.left = request.left;
    if (request.center !== undefined) bar.center = request.center;
    if (request.right !== undefined) bar.right = request.right;
    if (request.toggle === true) bar.visible = !effective.visible;
    else if (request.visible !== undefined) bar.visible = request.visible;
  }

  key(id: string, key: string, mods: readonly string[], action: string | undefined): { sent: boolean; note?: string } {
    const session = this.session(id);
    const modes = session.emulator.modes;
    const encoded = encodeKey(
      { key, mods: parseMods(mods), action: parseKeyAction(action) },
      { applicationCursorKeys: modes.applicationCursorKeys, kittyFlags: modes.kittyFlags },
    );
    if (encoded.bytes === "") return "note" in encoded ? { sent: false, note: encoded.note } : { sent: false };
    this.send(session, encoded.bytes);
    return { sent: true };
  }

  mouseButton(id: string, buttonName: string, actionName: string | undefined, modNames: readonly string[]): void {
    const session = this.session(id);
    const button = parseButton(buttonName);
    const action = parseMouseAction(actionName);
    const mods = parseMods(modNames);
    const mouse = this.mouse(id);
    if (action === "press") mouse.pressed.add(button);
    else mouse.pressed.delete(button);
    if (this.reportMouse(session, { kind: action, button }, mods)) return;
    if (button !== "left") return;
    const point = this.pointerPoint(session, mouse);
    if (action === "press") {
      mouse.selecting = true;
      mouse.selection = { anchor: point, head: point };
    } else if (mouse.selecting) {
      mouse.selecting = false;
      const selection = mouse.selection;
      // A click without a drag selects nothing.
      if (selection && selection.anchor.x === point.x && selection.anchor.y === point.y) mouse.selection = undefined;
    }
  }

  mousePosition(id: string, x: number, y: number, modNames: readonly string[]): void {
    const session = this.session(id);
    const mods = parseMods(modNames);
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw terminalError("invalid_argument", "x and y must be finite numbers");
    const mouse = this.mouse(id);
    mouse.x = x;
    mouse.y = y;
    const held = [...mouse.pressed][0];
    if (this.reportMouse(session, { kind: "motion", button: held }, mods)) return;
    if (mouse.selecting && mouse.selection) mouse.selection.head = this.pointerPoint(session, mouse);
  }

  mouseScroll(id: string, x: number, y: number, precision: boolean, momentum: string | undefined): void {
    const session = this.session(id);
    checkMomentum(momentum);
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw terminalError("invalid_argument", "x and y must be finite numbers");
    const cell = this.cellSize(session);
    const steps = (delta: number, size: number): number => {
      const lines = Math.abs(precision ? delta / size : delta);
      return delta === 0 ? 0 : Math.max(1, Math.round(lines));
    };
    const vertical = steps(y, cell.height);
    const horizontal = steps(x, cell.width);
    const modes = session.emulator.modes;
    if (modes.mouseTracking !== "none") {
      const mods = new Set<Modifier>();
      for (let i = 0; i < vertical; i++) this.reportMouse(session, { kind: "wheel", direction: y > 0 ? "up" : "down" }, mods);
      for (let i = 0; i < horizontal; i++) this.reportMouse(session, { kind: "wheel", direction: x > 0 ? "left" : "right" }, mods);
      return;
    }
    if (vertical === 0) return;
    if (modes.alternateScreen) {
      // Full-screen programs without mouse tracking scroll with the arrow keys.
      const arrow = encodeKey({ key: y > 0 ? "up" : "down", mods: new Set(), action: "press" }, { applicationCursorKeys: modes.applicationCursorKeys, kittyFlags: 0 });
      this.send(session, arrow.bytes.repeat(vertical));
      return;
    }
    // A positive y scrolls up, toward older output; a negative y toward newer.
    session.emulator.scrollLines(y > 0 ? -vertical : vertical);
  }

  async action(id: string, text: string): Promise<void> {
    const session = this.session(id);
    await this.perform(session, parseAction(text));
  }

  screen(id: string): { id: string; contents: string } {
    const session = this.session(id);
    return { id: session.id, contents: session.emulator.contents() };
  }

  details(id: string, type: string): { type: string; value: string } {
    const session = this.session(id);
    switch (type) {
      case "title":
        return { type, value: session.title };
      case "working_directory":
        return { type, value: session.workingDirectory ?? "" };
      case "contents":
        return { type, value: session.emulator.contents() };
      case "visible":
        return { type, value: session.emulator.visible() };
      case "selection":
        return { type, value: this.selectionText(session) };
      default:
        throw terminalError("invalid_detail", `"${type}" is not a detail; use title, working_directory, contents, selection or visible`);
    }
  }

  commands(terminal: string | undefined): Command[] {
    const anchor = terminal !== undefined && terminal !== "" ? this.session(terminal) : this.focusedSession();
    const tabs = anchor && anchor.kind === "normal" ? this.layout.tabCount(anchor.id) : 0;
    return commandCatalogue(tabs);
  }

  /**
   * Resolves when the screen matches `match` and, with `until: prompt`, the shell has shown a
   * prompt since the last Enter; fails with `wait_timeout` after the timeout.
   */
  wait(id: string, request: WaitRequest, signal: AbortSignal): Promise<WaitResponse> {
    const session = this.session(id);
    if (request.until !== undefined && request.until !== "" && request.until !== "prompt") {
      throw terminalError("invalid_argument", `until "${request.until}" is not prompt`);
    }
    const untilPrompt = request.until === "prompt";
    if ((request.match === undefined || request.match === "") && !untilPrompt) {
      throw terminalError("missing_field", 'wait needs "match", "until", or both');
    }
    const scope = request.scope || "visible";
    if (scope !== "visible" && scope !== "contents") throw terminalError("invalid_argument", `scope "${scope}" is not visible or contents`);
    let pattern: RegExp | undefined;
    if (request.match) {
      try {
        pattern = new RegExp(request.match, "m");
      } catch (err) {
        throw terminalError("invalid_match", `"${request.match}" is not a regular expression: ${(err as Error).message}`);
      }
    }
    const timeout = Math.min(request.timeoutMs ?? DEFAULT_WAIT_MS, MAX_WAIT_MS);
    if (timeout < 0) throw terminalError("invalid_argument", "timeout_ms must not be negative");

    const check = (): WaitResponse | undefined => {
      const shell = session.emulator.shell;
      if (untilPrompt && !(shell.atPrompt && shell.prompts > session.promptsAtLastEnter)) return undefined;
      const done = { matched: true, match: "", line: 0, column: 0, text: "", atPrompt: shell.atPrompt, lastExitCode: shell.lastExitCode };
      if (!pattern) return done;
      const text = scope === "contents" ? session.emulator.contents() : session.emulator.visible();
      const found = pattern.exec(text);
      if (!found) return undefined;
      const before = text.slice(0, found.index);
      const lineStart = before.lastIndexOf("\n") + 1;
      const lineEnd = text.indexOf("\n", found.index);
      return { ...done, match: found[0], line: before.split("\n").length - 1, column: found.index - lineStart, text: text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd) };
    };

    return new Promise((resolve, reject) => {
      const immediate = check();
      if (immediate) return resolve(immediate);
      const finish = (result: WaitResponse | Error): void => {
        clearTimeout(timer);
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const unsubscribe = session.onChange(() => {
        if (!this.sessions.has(session.id)) return finish(terminalError("terminal_not_found", `terminal ${id} closed while waiting`));
        const result = check();
        if (result) finish(result);
      });
      const timer = setTimeout(() => {
        const hint = untilPrompt && !session.emulator.shell.integrated ? "; the shell sent no OSC 133 prompt marks (see the shell integration docs)" : "";
        finish(terminalError("wait_timeout", `the screen did not ${pattern ? `match /${request.match ?? ""}/` : "show a new prompt"} within ${timeout} ms${hint}`));
      }, timeout);
      const onAbort = (): void => finish(new Error("cancelled"));
      signal.addEventListener("abort", onAbort);
    });
  }

  /**
   * Sends the visible screen at once and then whenever it changes, at most once per interval;
   * resolves when the terminal closes or `signal` aborts.
   */
  async watch(id: string, intervalMs: number | undefined, send: (screen: WatchScreenResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
    const session = this.session(id);
    const interval = Math.max(intervalMs ?? 50, 10);
    const snapshot = (): WatchScreenResponse => ({
      id,
      visible: session.emulator.visible(),
      cursorX: session.emulator.cursor.x,
      cursorY: session.emulator.cursor.y,
      title: session.title,
      columns: session.emulator.columns,
      rows: session.emulator.rows,
    });
    let last = snapshot();
    await send(last);
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let lastSent = Date.now();
      const flush = (): void => {
        timer = undefined;
        if (!this.sessions.has(id)) return stop();
        const next = snapshot();
        if (next.visible === last.visible && next.cursorX === last.cursorX && next.cursorY === last.cursorY && next.title === last.title && next.columns === last.columns && next.rows === last.rows) return;
        last = next;
        lastSent = Date.now();
        void send(next);
      };
      const unsubscribe = session.onChange(() => {
        if (!this.sessions.has(id)) return stop();
        timer ??= setTimeout(flush, Math.max(0, lastSent + interval - Date.now()));
      });
      const stop = (): void => {
        if (timer) clearTimeout(timer);
        unsubscribe();
        signal.removeEventListener("abort", stop);
        resolve();
      };
      signal.addEventListener("abort", stop);
    });
  }

  private async perform(session: Session, action: Action): Promise<void> {
    const id = session.id;
    const failed = (why: string) => terminalError("action_failed", `${action.name}: ${why}`);
    const normal = (): void => {
      if (session.kind === "quick") throw failed("the quick terminal has no windows, tabs or splits of its own");
    };
    switch (action.name) {
      case "new_window":
        await this.create({ location: "window", parent: id, env: {} });
        return;
      case "new_tab":
        normal();
        await this.create({ location: "tab", parent: id, env: {} });
        return;
      case "new_split":
        normal();
        await this.create({ location: `split:${action.direction}`, parent: id, env: {} });
        return;
      case "goto_split": {
        normal();
        const target = this.layout.neighbour(id, action.where);
        if (!target) throw failed(`there is no split ${action.where} of this one`);
        this.focusOn(target);
        return;
      }
      case "goto_tab":
      case "next_tab":
      case "previous_tab":
      case "last_tab": {
        normal();
        const count = this.layout.tabCount(id);
        const current = this.layout.place(id).tabIndex + 1;
        const n =
          action.name === "goto_tab" ? action.tab : action.name === "last_tab" ? count : action.name === "next_tab" ? (current % count) + 1 : ((current + count - 2) % count) + 1;
        const target = this.layout.tabTerminal(id, n);
        if (!target) throw failed(`the window has ${count} tab${count === 1 ? "" : "s"}`);
        this.focusOn(target);
        return;
      }
      case "close_surface":
        await this.close(id);
        return;
      case "close_tab":
      case "close_window": {
        const ids = action.name === "close_tab" ? this.layout.terminalsOfTab(id) : this.layout.terminalsOfWindow(id);
        await Promise.all(ids.map((t) => this.close(t)));
        return;
      }
      case "toggle_split_zoom":
        normal();
        if (!this.layout.toggleZoom(id)) throw failed("the tab has a single terminal");
        this.relayout();
        return;
      case "equalize_splits":
        normal();
        this.layout.equalize(id);
        this.relayout();
        return;
      case "resize_split":
        normal();
        if (!this.layout.resize(id, action.direction, action.amount, this.cellSize(session))) {
          throw failed(`no split divides this terminal ${action.direction === "up" || action.direction === "down" ? "vertically" : "horizontally"}`);
        }
        this.relayout();
        return;
      case "scroll_page_up":
        return session.emulator.scrollPages(-1);
      case "scroll_page_down":
        return session.emulator.scrollPages(1);
      case "scroll_to_top":
        return session.emulator.scrollToTop();
      case "scroll_to_bottom":
        return session.emulator.scrollToBottom();
      case "scroll_page_lines":
        return session.emulator.scrollLines(action.lines);
      case "clear_screen":
        this.mouse(id).selection = undefined;
        return session.emulator.clear();
      case "reset":
        this.mouse(id).selection = undefined;
        return session.emulator.reset();
      case "select_all": {
        const { length } = session.emulator.viewport;
        this.mouse(id).selection = { anchor: { x: 0, y: 0 }, head: { x: session.emulator.columns - 1, y: Math.max(0, length - 1) } };
        return;
      }
      case "copy_to_clipboard": {
        const text = this.selectionText(session);
        if (text === "") throw failed("nothing is selected");
        this.clipboard.set(Buffer.from(text, "utf8"));
        return;
      }
      case "paste_from_clipboard":
        this.input(id, this.clipboard.text, false);
        return;
      case "text":
        this.send(session, action.value);
        return;
      case "csi":
        this.send(session, `\x1b[${action.value}`);
        return;
      case "esc":
        this.send(session, `\x1b${action.value}`);
        return;
      case "set_surface_title":
        session.titleOverride = action.value;
        return;
      case "increase_font_size":
      case "decrease_font_size":
      case "reset_font_size": {
        const base = this.settings.fontSize;
        const size = action.name === "reset_font_size" ? base : session.fontSize + (action.name === "increase_font_size" ? action.points : -action.points);
        session.fontSize = Math.min(Math.max(size, 4), 96);
        this.relayout();
        return;
      }
      case "toggle_quick_terminal": {
        const quick = this.quickId === undefined ? undefined : this.sessions.get(this.quickId);
        if (quick) await this.close(quick.id);
        else await this.quickTerminal();
        return;
      }
      case "toggle_fullscreen":
      case "toggle_command_palette":
        throw failed("a headless terminal has no window to show it in");
    }
  }

  private async start(id: string, kind: "normal" | "quick", cwd: string, env: Readonly<Record<string, string>>, command: string | undefined): Promise<Terminal> {
    const rect = this.layout.allRects().get(id);
    const cell = this.cellSizeFor(this.settings.fontSize);
    const columns = Math.max(1, Math.floor((rect?.width ?? 0) / cell.width));
    const rows = Math.max(1, Math.floor((rect?.height ?? 0) / cell.height));
    let session: Session;
    try {
      session = await Session.start(
        this.host,
        {
          id,
          kind,
          shell: this.shellFor(env),
          cwd,
          env: this.environment(id, env),
          columns,
          rows,
          scrollback: this.settings.scrollback,
          command,
          fontSize: this.settings.fontSize,
        },
        (ended) => this.ended(ended),
      );
    } catch (err) {
      this.layout.remove(id);
      if (this.quickId === id) this.quickId = undefined;
      throw err;
    }
    this.sessions.set(id, session);
    this.focusOn(id);
    this.relayout();
    return this.describe(session);
  }

  /** The shell exited on its own: the terminal closes and its space goes back. */
  private ended(session: Session): void {
    if (this.sessions.get(session.id) === session) this.detach(session);
    session.killSession();
    session.emulator.dispose();
  }

  private detach(session: Session): void {
    const id = session.id;
    this.sessions.delete(id);
    this.bars.delete(id);
    this.mice.delete(id);
    if (this.quickId === id) this.quickId = undefined;
    if (this.layout.has(id)) {
      const windowId = this.layout.place(id).window.id;
      this.layout.remove(id);
      if (![...this.sessions.keys()].some((t) => this.layout.has(t) && this.layout.place(t).window.id === windowId)) this.windowBars.delete(windowId);
    }
    this.focusOrder = this.focusOrder.filter((t) => t !== id);
    const next = this.focusOrder[0];
    if (next !== undefined) this.layout.focus(next);
    this.relayout();
  }

  private focusOn(id: string): void {
    this.focusOrder = [id, ...this.focusOrder.filter((t) => t !== id)];
    this.layout.focus(id);
  }

  private focusedSession(): Session | undefined {
    const id = this.focusOrder[0];
    return id === undefined ? undefined : this.sessions.get(id);
  }

  /** Gives every PTY the size its place in the layout and its font size make. */
  private relayout(): void {
    const rects = this.layout.allRects();
    for (const session of this.sessions.values()) {
      const rect = rects.get(session.id);
      if (!rect) continue;
      const cell = this.cellSize(session);
      session.resize(Math.max(1, Math.floor(rect.width / cell.width)), Math.max(1, Math.floor(rect.height / cell.height)));
    }
  }

  private describe(session: Session): Terminal {
    const place = this.layout.place(session.id);
    const cell = this.cellSize(session);
    const shell = session.emulator.shell;
    const terminal: Terminal = {
      id: session.id,
      title: session.title,
      kind: session.kind === "quick" ? TerminalKind.TERMINAL_KIND_QUICK : TerminalKind.TERMINAL_KIND_NORMAL,
      focused: this.focusOrder[0] === session.id,
      columns: session.emulator.columns,
      rows: session.emulator.rows,
      cellWidth: cell.width,
      cellHeight: cell.height,
      statusbar: this.statusBar(session),
      atPrompt: shell.atPrompt,
      windowId: place.window.id,
      tab: place.tabIndex + 1,
      pid: session.pid,
    };
    const cwd = session.workingDirectory;
    if (cwd !== undefined) terminal.workingDirectory = cwd;
    if (shell.lastExitCode !== undefined) terminal.lastExitCode = shell.lastExitCode;
    return terminal;
  }

  /** The terminal's own status bar values over its window's. */
  private statusBar(session: Session): StatusBar {
    const own = this.bars.get(session.id) ?? {};
    const window = this.layout.has(session.id) ? (this.windowBars.get(this.layout.place(session.id).window.id) ?? {}) : {};
    return {
      left: own.left ?? window.left ?? "",
      center: own.center ?? window.center ?? "",
      right: own.right ?? window.right ?? "",
      visible: own.visible ?? window.visible ?? false,
    };
  }

  private session(id: string): Session {
    if (!UUID.test(id)) throw terminalError("invalid_uuid", `"${id}" is not a UUID`);
    const session = this.sessions.get(id.toLowerCase());
    if (!session) throw terminalError("terminal_not_found", `no terminal ${id}`);
    return session;
  }

  private mouse(id: string): MouseState {
    let mouse = this.mice.get(id);
    if (!mouse) {
      mouse = { x: 0, y: 0, pressed: new Set(), selecting: false, selection: undefined };
      this.mice.set(id, mouse);
    }
    return mouse;
  }

  /** Reports a mouse event to the program when it asked for mouse events; false when it did not. */
  private reportMouse(session: Session, event: Parameters<typeof encodeMouse>[0], mods: ReadonlySet<Modifier>): boolean {
    const modes = session.emulator.modes;
    if (modes.mouseTracking === "none") return false;
    const mouse = this.mouse(session.id);
    const cell = cellAt(mouse.x, mouse.y, this.cellSize(session), session.emulator);
    const bytes = encodeMouse(event, cell, mods, modes.mouseTracking, modes.sgrMouse);
    if (bytes) session.write(bytes);
    return true;
  }

  private pointerPoint(session: Session, mouse: MouseState): Point {
    const cell = cellAt(mouse.x, mouse.y, this.cellSize(session), session.emulator);
    return { x: cell.column, y: session.emulator.viewport.top + cell.row };
  }

  private selectionText(session: Session): string {
    const selection = this.mice.get(session.id)?.selection;
    return selection ? session.emulator.range(selection.anchor, selection.head) : "";
  }

  /** Bytes to the program; an Enter among them is remembered for `wait until: prompt`. */
  private send(session: Session, data: string): void {
    if (/[\r\n]/.test(data)) session.promptsAtLastEnter = session.emulator.shell.prompts;
    session.write(data);
  }

  private cellSize(session: Session): { width: number; height: number } {
    return this.cellSizeFor(session.fontSize);
  }

  private cellSizeFor(fontSize: number): { width: number; height: number } {
    const scale = fontSize / this.settings.fontSize;
    return { width: Math.max(1, Math.round(this.settings.cellWidth * scale)), height: Math.max(1, Math.round(this.settings.cellHeight * scale)) };
  }

  private windowSize(): { width: number; height: number } {
    return { width: this.settings.windowColumns * this.settings.cellWidth, height: this.settings.windowRows * this.settings.cellHeight };
  }

  private workingDirectory(requested: string | undefined, parent: Session | undefined): string {
    if (requested === undefined || requested === "") return parent?.workingDirectory ?? homedir();
    const expanded = requested === "~" ? homedir() : requested.startsWith("~/") ? join(homedir(), requested.slice(2)) : requested;
    if (!isAbsolute(expanded)) throw terminalError("invalid_argument", `working_directory "${requested}" is not an absolute path`);
    return expanded;
  }

  private shellFor(env: Readonly<Record<string, string>>): string {
    const candidates = [env.SHELL, this.settings.shell, this.settings.env.SHELL, "/bin/bash", "/bin/sh"];
    return candidates.find((s): s is string => s !== undefined && s !== "" && existsSync(s)) ?? "/bin/sh";
  }

  private environment(id: string, extra: Readonly<Record<string, string>>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.settings.env)) if (value !== undefined) env[key] = value;
    return { ...env, TERM: "xterm-256color", COLORTERM: "truecolor", TERM_PROGRAM: "ghostd", GHOSTD_TERMINAL_ID: id, ...extra };
  }
}
