import { segment, socket } from "./api.js";
import { byId, el } from "./dom.js";
import type { ProjectDetail } from "./projects.js";

interface LogEntry {
  readonly timestamp: string;
  readonly service_name: string;
  readonly stream: string;
  readonly line: string;
}

/** A frame of the logs WebSocket: a reply, or the error the call ended with. */
interface LogFrame {
  readonly result?: { readonly entries: readonly LogEntry[] };
  readonly error?: { readonly message?: string };
}

/** Lines kept on the page; older ones go, as a terminal's scrollback does. */
const MAX_LINES = 2000;

/** One project's logs, followed live over the logs route's WebSocket, all services or one. */
export class LogsPanel {
  projectId: string | undefined;
  private service = "";
  private ws: WebSocket | undefined;
  private readonly lines = byId("log-lines");
  private readonly filter = byId("logs-service", HTMLSelectElement);
  private readonly state = byId("logs-state");

  constructor() {
    this.filter.addEventListener("change", () => {
      this.service = this.filter.value;
      this.follow();
    });
  }

  /** Shows a project's logs; the same project keeps its socket, and its filter's services are kept current. */
  select(project: ProjectDetail): void {
    this.updateServices(project.services.map((s) => s.name));
    if (project.project_id === this.projectId) return;
    this.projectId = project.project_id;
    this.service = "";
    this.filter.value = "";
    byId("logs-project").textContent = project.project_id;
    this.follow();
  }

  private updateServices(names: readonly string[]): void {
    const current = [...this.filter.options].slice(1).map((o) => o.value);
    if (current.join("\n") === names.join("\n")) return;
    this.filter.replaceChildren(el("option", { value: "" }, "all services"), ...names.map((n) => el("option", { value: n }, n)));
    this.filter.value = names.includes(this.service) ? this.service : "";
  }

  private follow(): void {
    this.ws?.close();
    this.lines.replaceChildren();
    if (this.projectId === undefined) return;
    const query = new URLSearchParams({ follow: "true", tail_lines: "200" });
    if (this.service) query.set("service_name", this.service);
    const ws = socket(`/v1/projects/${segment(this.projectId)}/logs?${query.toString()}`);
    this.ws = ws;
    this.state.textContent = "connecting";
    ws.addEventListener("open", () => (this.state.textContent = "following"));
    ws.addEventListener("message", (event: MessageEvent<string>) => this.receive(JSON.parse(event.data) as LogFrame));
    ws.addEventListener("close", () => {
      if (this.ws === ws) this.state.textContent = "stopped following";
    });
  }

  private receive(frame: LogFrame): void {
    if (frame.error) this.state.textContent = `error: ${frame.error.message ?? "unknown"}`;
    const atBottom = this.lines.scrollTop + this.lines.clientHeight >= this.lines.scrollHeight - 4;
    for (const entry of frame.result?.entries ?? []) {
      const time = new Date(entry.timestamp).toLocaleTimeString();
      this.lines.append(el("div", { class: `line ${entry.stream}`, "data-service": entry.service_name }, el("span", { class: "meta" }, `${time} ${entry.service_name}`), " ", entry.line));
    }
    while (this.lines.childElementCount > MAX_LINES) this.lines.firstElementChild?.remove();
    if (atBottom) this.lines.scrollTop = this.lines.scrollHeight;
  }
}
