import { join } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "./clock";
import { parseManifestText } from "./plan-loader";
import type { ProjectRow } from "./registry";
import { Autosaver } from "./snapshots/autosaver";
import type { Tree } from "./snapshots/tree";

/** The autosaver of each running project whose manifest asks for `state.autosave`. */
export class Autosaves {
  private readonly savers = new Map<string, Autosaver>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly save: (projectId: string) => Promise<unknown>,
    private readonly walk: (dir: string) => Promise<Tree>,
  ) {}

  /** A project started: it autosaves while it runs, if its manifest says so. */
  start(row: ProjectRow): void {
    if (this.savers.has(row.projectId)) return;
    let state;
    try {
      state = parseManifestText(row.manifest).state;
    } catch {
      return;
    }
    if (!state.autosave) return;
    const saver = new Autosaver({
      current: join(row.statePath, "current"),
      debounceMs: state.autosaveDebounceSeconds * 1000,
      clock: this.clock,
      save: () => this.save(row.projectId),
      failed: (err) => this.logger.warn({ err, project: row.projectId }, "autosave failed"),
      walk: this.walk,
    });
    this.savers.set(row.projectId, saver);
  }

  async stop(projectId: string): Promise<void> {
    const saver = this.savers.get(projectId);
    this.savers.delete(projectId);
    await saver?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.savers.keys()].map((id) => this.stop(id)));
  }
}
