import type { SetStatusBarRequest, StatusBar, Terminal } from "../../generated/ghostd/terminal/v1/terminal";
import { TerminalKind } from "../../generated/ghostd/terminal/v1/terminal";
import { Layout, type Direction } from "./layout";
import { terminalError } from "./reasons";
import type { Session } from "./session";
import type { TerminalSettings } from "./terminals";

export type Location = "window" | "tab" | `split:${Direction | "auto"}`;

const LOCATIONS: ReadonlySet<string> = new Set<Location>(["window", "tab", "split:left", "split:right", "split:up", "split:down", "split:auto"]);

/** A create request's location, window when empty. */
export function parseLocation(requested: string): Location {
  const location = requested || "window";
  if (!LOCATIONS.has(location)) {
    throw terminalError("invalid_location", `"${location}" is not a location; use window, tab, split:left, split:right, split:up or split:down`);
  }
  return location as Location;
}

/** The settings that size windows and cells. */
export type Geometry = Pick<TerminalSettings, "windowColumns" | "windowRows" | "cellWidth" | "cellHeight" | "fontSize" | "quickRows">;

interface Bar {
  left?: string;
  center?: string;
  right?: string;
  visible?: boolean;
}

/**
 * Where the terminals are and how big: windows, tabs and splits (the Layout), which terminal has
 * focus, the one quick terminal, status bars, and the cell size that turns a terminal's place
 * into the columns and rows its PTY gets. Reads the open sessions; Terminals opens and closes them.
 */
export class Workspace {
  readonly layout = new Layout();
  /** Most recently focused first; the head is the focused terminal. */
  private focusOrder: string[] = [];
  private quickId: string | undefined;
  private readonly bars = new Map<string, Bar>();
  private readonly windowBars = new Map<string, Bar>();

  constructor(
    private readonly geometry: Geometry,
    private readonly sessions: ReadonlyMap<string, Session>,
  ) {}

  /** The terminal a new one goes next to: the one named, else for a tab or split the focused one. */
  parentFor(location: Location, named: Session | undefined): Session | undefined {
    const parent = named ?? (location !== "window" ? this.focused() : undefined);
    if (parent?.kind === "quick" && location !== "window") {
      throw terminalError("invalid_location", "the quick terminal has no tabs or splits; create a window instead");
    }
    return parent;
  }

  /** Makes room for a terminal about to start; without a parent, a tab or split gets a window. */
  add(id: string, location: Location, parent: Session | undefined): void {
    if (location === "window" || !parent) this.layout.addWindow(id, this.windowSize());
    else if (location === "tab") this.layout.addTab(parent.id, id);
    else this.layout.split(parent.id, id, location.slice("split:".length) as Direction | "auto");
  }

  /** Makes room for the quick terminal about to start: a window of its own, as wide as the others. */
  addQuick(id: string): void {
    const { width } = this.windowSize();
    this.layout.addWindow(id, { width, height: this.geometry.quickRows * this.geometry.cellHeight }, "quick");
    this.quickId = id;
  }

  /** The quick terminal, once it has started. */
  quick(): Session | undefined {
    return this.quickId === undefined ? undefined : this.sessions.get(this.quickId);
  }

  /** The columns and rows a terminal starting at the configured font size has in its place. */
  startingSize(id: string): { columns: number; rows: number } {
    const rect = this.layout.allRects().get(id);
    const cell = this.cellSizeFor(this.geometry.fontSize);
    return { columns: Math.max(1, Math.floor((rect?.width ?? 0) / cell.width)), rows: Math.max(1, Math.floor((rect?.height ?? 0) / cell.height)) };
  }

  /** The terminal started: it takes focus, and its neighbours shrink to make room. */
  started(id: string): void {
    this.focus(id);
    this.relayout();
  }

  /** The terminal could not start: the room made for it goes back. */
  abandon(id: string): void {
    this.layout.remove(id);
    if (this.quickId === id) this.quickId = undefined;
  }

  /**
   * The terminal closed (it is no longer among the sessions): its space goes back, focus returns
   * to the one focused before it, and its window's status bar goes with the window's last terminal.
   */
  remove(id: string): void {
    this.bars.delete(id);
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

  focus(id: string): void {
    this.focusOrder = [id, ...this.focusOrder.filter((t) => t !== id)];
    this.layout.focus(id);
  }

  focused(): Session | undefined {
    const id = this.focusOrder[0];
    return id === undefined ? undefined : this.sessions.get(id);
  }

  /** Gives every PTY the size its place in the layout and its font size make. */
  relayout(): void {
    const rects = this.layout.allRects();
    for (const session of this.sessions.values()) {
      const rect = rects.get(session.id);
      if (!rect) continue;
      const cell = this.cellSize(session);
      session.resize(Math.max(1, Math.floor(rect.width / cell.width)), Math.max(1, Math.floor(rect.height / cell.height)));
    }
  }

  /** The font size in the settings, which font size actions start from and go back to. */
  get baseFontSize(): number {
    return this.geometry.fontSize;
  }

  cellSize(session: Session): { width: number; height: number } {
    return this.cellSizeFor(session.fontSize);
  }

  describe(session: Session): Terminal {
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

  setStatusBar(session: Session, request: SetStatusBarRequest): void {
    const scope = request.scope || "surface";
    if (scope !== "surface" && scope !== "window") throw terminalError("invalid_argument", `scope "${scope}" is not surface or window`);
    const effective = this.statusBar(session);
    const bar = scope === "window" ? barOf(this.windowBars, this.layout.place(session.id).window.id) : barOf(this.bars, session.id);
    if (request.left !== undefined) bar.left = request.left;
    if (request.center !== undefined) bar.center = request.center;
    if (request.right !== undefined) bar.right = request.right;
    if (request.toggle === true) bar.visible = !effective.visible;
    else if (request.visible !== undefined) bar.visible = request.visible;
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

  private cellSizeFor(fontSize: number): { width: number; height: number } {
    const scale = fontSize / this.geometry.fontSize;
    return { width: Math.max(1, Math.round(this.geometry.cellWidth * scale)), height: Math.max(1, Math.round(this.geometry.cellHeight * scale)) };
  }

  private windowSize(): { width: number; height: number } {
    return { width: this.geometry.windowColumns * this.geometry.cellWidth, height: this.geometry.windowRows * this.geometry.cellHeight };
  }
}

/** The bar stored under `key`, stored first when there is none yet. */
function barOf(bars: Map<string, Bar>, key: string): Bar {
  let bar = bars.get(key);
  if (!bar) {
    bar = {};
    bars.set(key, bar);
  }
  return bar;
}
