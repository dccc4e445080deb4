import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import type {
  Command,
  CreateTerminalRequest,
  SetStatusBarRequest,
  Terminal,
  WaitRequest,
  WaitResponse,
  WatchScreenResponse,
} from "../../generated/ghostd/terminal/v1/terminal";
import type { ClipboardStore } from "../clipboard/store";
import { performAction } from "./action-handlers";
import { commandCatalogue, parseAction } from "./actions";
import { encodeKey, parseKeyAction, parseMods } from "./keys";
import { Pointers } from "./pointer";
import { terminalError } from "./reasons";
import type { ScreenForm } from "./emulator";
import type { PtyHost } from "./pty";
import { Session } from "./session";
import { waitForScreen, watchScreen } from "./screen-wait";
import { parseLocation, Workspace } from "./workspace";

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

/**
 * The terminals of one daemon and everything the API does to them: opens and closes their
 * sessions, finds them by id, and hands each request to the part that owns it (the workspace for
 * where terminals are, the pointers for mouse and selection, screen-wait, the action table).
 * Knows nothing of gRPC: it takes and returns the contract's messages and raises DomainErrors
 * with seed 001's reasons.
 */
export class Terminals {
  private readonly sessions = new Map<string, Session>();
  private readonly workspace: Workspace;
  private readonly pointers: Pointers;
  private quickStarting: Promise<Terminal> | undefined;

  constructor(
    private readonly settings: TerminalSettings,
    private readonly clipboard: ClipboardStore,
    /** Runs the shells' PTYs; whoever made it closes it, after `closeAll`. */
    private readonly host: PtyHost,
  ) {
    this.workspace = new Workspace(settings, this.sessions);
    this.pointers = new Pointers((session) => this.workspace.cellSize(session));
  }

  list(): Terminal[] {
    return [...this.sessions.values()].map((s) => this.workspace.describe(s));
  }

  /** The live session behind `id`, for a client attaching to it. */
  attachable(id: string): Session {
    return this.session(id);
  }

  get(id: string): Terminal {
    return this.workspace.describe(this.session(id));
  }

  focused(): Terminal {
    const session = this.workspace.focused();
    if (!session) throw terminalError("no_focused_terminal", "No terminal is currently focused");
    return this.workspace.describe(session);
  }

  async create(request: CreateTerminalRequest): Promise<Terminal> {
    const location = parseLocation(request.location);
    const named = request.parent !== undefined && request.parent !== "" ? this.session(request.parent) : undefined;
    const parent = this.workspace.parentFor(location, named);
    const cwd = this.workingDirectory(request.workingDirectory, parent);
    const id = randomUUID();
    this.workspace.add(id, location, parent);
    return this.start(id, "normal", cwd, request.env, request.command);
  }

  /** Opens the quick terminal once; later calls, concurrent ones included, return it. */
  async quickTerminal(): Promise<Terminal[]> {
    const existing = this.workspace.quick();
    if (existing) return [this.workspace.describe(existing)];
    if (!this.quickStarting) {
      const id = randomUUID();
      this.workspace.addQuick(id);
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
  }

  focus(id: string): void {
    this.workspace.focus(this.session(id).id);
  }

  /** `paste` false types the text as keys: no bracketed-paste markers around it. */
  input(id: string, text: string, enter: boolean, paste = true): void {
    const session = this.session(id);
    // Line breaks become Enter (CR), as terminals paste them; inside a bracketed paste, an end
    // marker in the text could end it early, so it is removed.
    let data = text.replace(/\r?\n/g, "\r");
    if (paste && session.emulator.modes.bracketedPaste) data = `\x1b[200~${data.replaceAll("\x1b[201~", "")}\x1b[201~`;
    if (enter) data += "\r";
    session.send(data);
  }

  async output(id: string, data: string): Promise<void> {
    await this.session(id).feed(data);
  }

  setStatusBar(id: string, request: SetStatusBarRequest): void {
    this.workspace.setStatusBar(this.session(id), request);
  }

  key(id: string, key: string, mods: readonly string[], action: string | undefined): { sent: boolean; note?: string } {
    const session = this.session(id);
    const modes = session.emulator.modes;
    const encoded = encodeKey(
      { key, mods: parseMods(mods), action: parseKeyAction(action) },
      { applicationCursorKeys: modes.applicationCursorKeys, kittyFlags: modes.kittyFlags },
    );
    if (encoded.bytes === "") return "note" in encoded ? { sent: false, note: encoded.note } : { sent: false };
    session.send(encoded.bytes);
    return { sent: true };
  }

  mouseButton(id: string, button: string, action: string | undefined, mods: readonly string[]): void {
    this.pointers.button(this.session(id), button, action, mods);
  }

  mousePosition(id: string, x: number, y: number, mods: readonly string[]): void {
    this.pointers.position(this.session(id), x, y, mods);
  }

  mouseScroll(id: string, x: number, y: number, precision: boolean, momentum: string | undefined): void {
    this.pointers.scroll(this.session(id), x, y, precision, momentum);
  }

  async action(id: string, text: string): Promise<void> {
    const session = this.session(id);
    const context = { session, workspace: this.workspace, pointers: this.pointers, clipboard: this.clipboard, terminals: this };
    await performAction(context, parseAction(text));
  }

  screen(id: string): { id: string; contents: string } {
    const session = this.session(id);
    return { id: session.id, contents: session.emulator.contents() };
  }

  /** `form`: how `contents` and `visible` are laid out (rows as displayed, with or without styles). */
  details(id: string, type: string, form: ScreenForm = {}): { type: string; value: string } {
    const session = this.session(id);
    switch (type) {
      case "title":
        return { type, value: session.title };
      case "working_directory":
        return { type, value: session.workingDirectory ?? "" };
      case "contents":
        return { type, value: session.emulator.contents(form) };
      case "visible":
        return { type, value: session.emulator.visible(form) };
      case "selection":
        return { type, value: this.pointers.selectionText(session) };
      default:
        throw terminalError("invalid_detail", `"${type}" is not a detail; use title, working_directory, contents, selection or visible`);
    }
  }

  commands(terminal: string | undefined): Command[] {
    const anchor = terminal !== undefined && terminal !== "" ? this.session(terminal) : this.workspace.focused();
    const tabs = anchor && anchor.kind === "normal" ? this.workspace.layout.tabCount(anchor.id) : 0;
    return commandCatalogue(tabs);
  }

  /** See waitForScreen; the wait ends with terminal_not_found when the terminal closes. */
  async wait(id: string, request: WaitRequest, signal: AbortSignal): Promise<WaitResponse> {
    const session = this.session(id);
    return waitForScreen(session, { ...request, id }, signal, () => this.sessions.has(session.id));
  }

  /** See watchScreen; the stream ends when the terminal closes. A generator, so an unknown id fails the stream, not the call. */
  watch(id: string, intervalMs: number | undefined, signal: AbortSignal): AsyncGenerator<WatchScreenResponse> {
    const session = this.session(id);
    return watchScreen(session, intervalMs, signal, () => this.sessions.has(session.id));
  }

  private async start(id: string, kind: "normal" | "quick", cwd: string, env: Readonly<Record<string, string>>, command: string | undefined): Promise<Terminal> {
    const options = {
      id,
      kind,
      shell: this.shellFor(env),
      cwd,
      env: this.environment(id, env),
      ...this.workspace.startingSize(id),
      scrollback: this.settings.scrollback,
      command,
      fontSize: this.settings.fontSize,
    };
    let session: Session;
    try {
      session = await Session.start(this.host, options, (ended) => this.ended(ended));
    } catch (err) {
      this.workspace.abandon(id);
      throw err;
    }
    this.sessions.set(id, session);
    this.workspace.started(id);
    return this.workspace.describe(session);
  }

  /** The shell exited on its own: the terminal closes and its space goes back. */
  private ended(session: Session): void {
    if (this.sessions.get(session.id) === session) this.detach(session);
    session.killSession();
    session.emulator.dispose();
  }

  private detach(session: Session): void {
    this.sessions.delete(session.id);
    this.pointers.forget(session.id);
    this.workspace.remove(session.id);
  }

  private session(id: string): Session {
    if (!UUID.test(id)) throw terminalError("invalid_uuid", `"${id}" is not a UUID`);
    const session = this.sessions.get(id.toLowerCase());
    if (!session) throw terminalError("terminal_not_found", `no terminal ${id}`);
    return session;
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
