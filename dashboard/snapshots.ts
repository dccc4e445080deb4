import { get, post, segment } from "./api.js";
import { button, byId, bytes, el, notify } from "./dom.js";

interface Snapshot {
  readonly snapshot_id: string;
  readonly timestamp: string;
  readonly reason: string;
  readonly size_bytes: number | string;
}

/** A project's snapshots, newest first, with save and restore. */
export class SnapshotsPanel {
  private projectId: string | undefined;
  private readonly rows = byId("snapshot-rows");
  private readonly save = byId("save-snapshot", HTMLButtonElement);

  constructor() {
    this.save.addEventListener("click", () => void this.saveNow());
  }

  async select(projectId: string, status: string): Promise<void> {
    this.projectId = projectId;
    byId("snapshots-project").textContent = projectId;
    // A registered project has no state to save until it is opened.
    this.save.disabled = status === "registered";
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    if (this.projectId === undefined) return;
    const id = this.projectId;
    const { snapshots } = await get<{ snapshots: Snapshot[] }>(`/v1/projects/${segment(id)}/snapshots`);
    this.rows.replaceChildren(...snapshots.map((s) => this.row(id, s)));
  }

  private row(projectId: string, snapshot: Snapshot): HTMLElement {
    const restore = button("Restore", () => this.restore(projectId, snapshot.snapshot_id), { "data-action": "restore" });
    return el(
      "tr",
      { "data-snapshot-id": snapshot.snapshot_id },
      el("td", {}, new Date(snapshot.timestamp).toLocaleString()),
      el("td", {}, snapshot.reason),
      el("td", {}, bytes(Number(snapshot.size_bytes))),
      el("td", { class: "mono" }, snapshot.snapshot_id.slice(0, 12)),
      el("td", {}, restore),
    );
  }

  private async saveNow(): Promise<void> {
    if (this.projectId === undefined) return;
    this.save.disabled = true;
    try {
      const saved = await post<{ snapshot_id: string }>(`/v1/projects/${segment(this.projectId)}/snapshots`, { reason: "manual" });
      notify(`saved snapshot ${saved.snapshot_id.slice(0, 12)}`);
      await this.refresh();
    } finally {
      this.save.disabled = false;
    }
  }

  private async restore(projectId: string, snapshotId: string): Promise<void> {
    // Restoring replaces the project's state (a safety snapshot is saved first): worth a question.
    if (!confirm(`Restore ${projectId} from snapshot ${snapshotId.slice(0, 12)}? A safety snapshot is saved first.`)) return;
    const restored = await post<{ safety_snapshot_id?: string }>(`/v1/projects/${segment(projectId)}/snapshots/${segment(snapshotId)}:restore`, {});
    notify(`restored ${projectId}${restored.safety_snapshot_id ? `; safety snapshot ${restored.safety_snapshot_id.slice(0, 12)}` : ""}`);
    await this.refresh();
  }
}
