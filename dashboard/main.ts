import { byId, report } from "./dom.js";
import { LogsPanel } from "./logs.js";
import { ProjectsView } from "./projects.js";
import { SnapshotsPanel } from "./snapshots.js";
import { nonceStyleElements } from "./styles.js";
import { TerminalsView } from "./terminals.js";
import { VmsView } from "./vms.js";

interface View {
  refresh(): Promise<void>;
}

/** How often the shown view asks again: the API has no change feed for lists. */
const REFRESH_MS = 3000;

nonceStyleElements();

const views: Record<string, View> = {
  terminals: new TerminalsView(),
  projects: new ProjectsView(new LogsPanel(), new SnapshotsPanel()),
  vms: new VmsView(),
};

function current(): string {
  const name = location.hash.slice(1);
  return name in views ? name : "terminals";
}

function show(): void {
  const name = current();
  for (const section of document.querySelectorAll<HTMLElement>("[data-view]")) section.hidden = section.dataset.view !== name;
  for (const link of document.querySelectorAll<HTMLElement>("[data-nav]")) link.classList.toggle("current", link.dataset.nav === name);
  refresh();
}

function refresh(): void {
  views[current()]?.refresh().catch(report);
}

window.addEventListener("hashchange", show);
setInterval(refresh, REFRESH_MS);
byId("notice").textContent = "";
show();
