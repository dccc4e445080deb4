import { get, post, segment } from "./api.js";
import { button, byId, bytes, el } from "./dom.js";
import type { LogsPanel } from "./logs.js";
import type { SnapshotsPanel } from "./snapshots.js";

interface ProjectSummary {
  readonly project_id: string;
}

interface ServiceStatus {
  readonly name: string;
  readonly status: string;
  readonly restart_count: number;
}

interface PortMapping {
  readonly service_name: string;
  readonly container_port: number;
  readonly host_port: number;
  readonly protocol: string;
}

/** The fields of GetProjectStatus the page shows. */
export interface ProjectDetail {
  readonly project_id: string;
  readonly name: string;
  readonly version: string;
  readonly status: string;
  readonly services: readonly ServiceStatus[];
  readonly ports: readonly PortMapping[];
  readonly snapshot_count: number;
  readonly state_size_bytes: number | string;
}

const projectPath = (id: string): string => `/v1/projects/${segment(id)}`;

/** Every project with its services and ports, and what can be done to it. */
export class ProjectsView {
  private readonly list = byId("project-list");

  constructor(
    private readonly logs: LogsPanel,
    private readonly snapshots: SnapshotsPanel,
  ) {}

  async refresh(): Promise<void> {
    const { projects } = await get<{ projects: ProjectSummary[] }>("/v1/projects");
    const details = await Promise.all(projects.map((p) => get<ProjectDetail>(projectPath(p.project_id))));
    this.list.replaceChildren(...details.map((d) => this.card(d)));
    if (details.length === 0) this.list.append(el("p", { class: "empty" }, "No projects yet: register one with ghostctl or PUT /v1/projects/{id}."));
    const chosen = details.find((d) => d.project_id === this.logs.projectId) ?? details[0];
    if (chosen) {
      this.logs.select(chosen);
      await this.snapshots.select(chosen.project_id, chosen.status);
    }
  }

  private card(project: ProjectDetail): HTMLElement {
    const id = project.project_id;
    const act = (verb: string, body: unknown = {}) => async (): Promise<void> => {
      await post(`${projectPath(id)}:${verb}`, body);
      await this.refresh();
    };
    const actions = el(
      "div",
      { class: "actions" },
      button("Open", act("open"), { "data-action": "open", title: "Load the project and prepare its services (OpenProject)" }),
      button("Start", () => this.start(project), { "data-action": "start" }),
      button("Stop", act("stop"), { "data-action": "stop" }),
      button("Logs & snapshots", () => this.choose(project), { "data-action": "select" }),
    );
    const heading = el("h3", {}, project.name || id, " ", el("small", {}, `${id} · ${project.version}`), " ", statusBadge(project.status));
    const facts = el("p", { class: "facts" }, `${String(project.snapshot_count)} snapshots · state ${bytes(Number(project.state_size_bytes))}`);
    return el("article", { class: "project", "data-project-id": id }, heading, actions, facts, servicesTable(project));
  }

  /** Start needs the project open: a registered one is opened first, as `ghostctl start` does. */
  private async start(project: ProjectDetail): Promise<void> {
    const path = projectPath(project.project_id);
    if (project.status === "registered") await post(`${path}:open`);
    await post(`${path}:start`);
    await this.refresh();
  }

  private async choose(project: ProjectDetail): Promise<void> {
    this.logs.select(project);
    await this.snapshots.select(project.project_id, project.status);
  }
}

function statusBadge(status: string): HTMLElement {
  return el("span", { class: `status status-${status}`, "data-status": status }, status);
}

function servicesTable(project: ProjectDetail): HTMLElement {
  const rows = project.services.map((s) => {
    const ports = project.ports.filter((p) => p.service_name === s.name).map(portLink);
    return el("tr", { "data-service": s.name }, el("td", {}, s.name), el("td", {}, statusBadge(s.status)), el("td", {}, String(s.restart_count)), el("td", {}, ...ports));
  });
  if (rows.length === 0) return el("p", { class: "empty" }, "Services are listed once the project is open.");
  const head = el("thead", {}, el("tr", {}, el("th", {}, "service"), el("th", {}, "state"), el("th", {}, "restarts"), el("th", {}, "host ports")));
  return el("table", {}, head, el("tbody", {}, ...rows));
}

/** A published port, as a link for TCP (where a web service usually is). */
function portLink(port: PortMapping): HTMLElement {
  const label = `${String(port.host_port)}→${String(port.container_port)}`;
  if (port.protocol !== "tcp") return el("span", { class: "port" }, `${label}/${port.protocol}`);
  return el("a", { class: "port", href: `http://127.0.0.1:${String(port.host_port)}/`, target: "_blank", rel: "noopener noreferrer" }, label);
}
