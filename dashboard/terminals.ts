import { FitAddon } from "/assets/vendor/addon-fit.mjs";
import { Terminal } from "/assets/vendor/xterm.mjs";
import { call, get, post, segment, socket } from "./api.js";
import { button, byId, el, report } from "./dom.js";

/** The fields of a terminal the grid shows (the API's terminal object has more). */
interface TerminalInfo {
  readonly id: string;
  readonly title: string;
  readonly working_directory: string;
}

/** What the attach socket sends as text: the shell's end (errors come as `type: "error"`). */
interface AttachEvent {
  readonly type: string;
  readonly code?: number;
  readonly message?: string;
}

const THEME = { background: "#1e1e2e", foreground: "#cdd6f4", cursor: "#f5e0dc", selectionBackground: "#585b70" };

/** One live terminal: xterm.js in the browser, attached over the WebSocket, sized to its tile. */
class TerminalTile {
  readonly element: HTMLElement;
  private readonly title = el("span", { class: "title" });
  private readonly state = el("span", { class: "state" });
  private readonly screen = el("div", { class: "screen" });
  private readonly term = new Terminal({ fontFamily: "DejaVu Sans Mono, monospace", fontSize: 13, theme: THEME, scrollback: 5000 });
  private readonly fitAddon = new FitAddon();
  private readonly resizes = new ResizeObserver(() => this.fit());
  private ws: WebSocket | undefined;

  constructor(
    readonly info: TerminalInfo,
    close: (id: string) => Promise<void>,
  ) {
    const header = el("div", { class: "tile-header" }, this.title, this.state, button("Close", () => close(info.id), { class: "close", title: "Close this terminal" }));
    this.element = el("article", { class: "tile", "data-terminal-id": info.id }, header, this.screen);
    this.update(info);
    this.term.loadAddon(this.fitAddon);
  }

  /** Opens the terminal once its tile is in the page, so it can be measured. */
  start(): void {
    this.term.open(this.screen);
    this.fit();
    this.resizes.observe(this.screen);
    this.attach();
  }

  update(info: TerminalInfo): void {
    this.title.textContent = `${info.title} — ${info.working_directory}`;
  }

  focus(): void {
    this.term.focus();
  }

  dispose(): void {
    this.resizes.disconnect();
    this.ws?.close();
    this.term.dispose();
    this.element.remove();
  }

  private attach(): void {
    const ws = socket(`/api/v2/terminals/${segment(this.info.id)}/attach`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    const encoder = new TextEncoder();
    const send = (data: Uint8Array): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    };
    this.term.onData((data) => send(encoder.encode(data)));
    // Mouse reports in the legacy encoding are bytes, one per character.
    this.term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    this.term.onResize(({ cols, rows }) => this.sendResize(cols, rows));
    ws.addEventListener("open", () => {
      this.state.textContent = "attached";
      this.sendResize(this.term.cols, this.term.rows);
    });
    ws.addEventListener("message", (event: MessageEvent<ArrayBuffer | string>) => this.receive(event.data));
    ws.addEventListener("close", () => {
      if (this.state.textContent === "attached") this.state.textContent = "detached";
    });
  }

  private receive(data: ArrayBuffer | string): void {
    if (typeof data !== "string") {
      this.term.write(new Uint8Array(data));
      return;
    }
    const event = JSON.parse(data) as AttachEvent;
    if (event.type === "exit") this.state.textContent = `exited (${String(event.code ?? "?")})`;
    else if (event.type === "error") this.state.textContent = `error: ${event.message ?? "unknown"}`;
  }

  private sendResize(cols: number, rows: number): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "resize", cols, rows }));
  }

  /** Fits the grid to the tile; a hidden tile has no size to fit to and keeps its own. */
  private fit(): void {
    if (this.screen.clientWidth > 0 && this.screen.clientHeight > 0) this.fitAddon.fit();
  }
}

/** The grid of every terminal the daemon has, kept in step with its list. */
export class TerminalsView {
  private readonly tiles = new Map<string, TerminalTile>();
  private readonly grid = byId("terminal-grid");

  constructor() {
    byId("new-terminal").addEventListener("click", () => void this.create().catch(report));
  }

  async refresh(): Promise<void> {
    const { terminals } = await get<{ terminals: TerminalInfo[] }>("/api/v2/terminals");
    const live = new Set(terminals.map((t) => t.id));
    for (const [id, tile] of this.tiles) {
      if (!live.has(id)) {
        tile.dispose();
        this.tiles.delete(id);
      }
    }
    for (const info of terminals) this.show(info);
  }

  private show(info: TerminalInfo): TerminalTile {
    let tile = this.tiles.get(info.id);
    if (tile) {
      tile.update(info);
      return tile;
    }
    tile = new TerminalTile(info, (id) => this.close(id));
    this.tiles.set(info.id, tile);
    this.grid.append(tile.element);
    tile.start();
    return tile;
  }

  private async create(): Promise<void> {
    const info = await post<TerminalInfo>("/api/v2/terminals", {});
    this.show(info).focus();
  }

  private async close(id: string): Promise<void> {
    await call("DELETE", `/api/v2/terminals/${segment(id)}`);
    this.tiles.get(id)?.dispose();
    this.tiles.delete(id);
  }
}
