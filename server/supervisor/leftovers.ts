import type { Logger } from "pino";
import type { ProjectRow, Registry } from "./registry";
import type { TaskHandle } from "./runtime/driver";
import type { Leftover, Removed, RuntimeRegistry } from "./runtime/runtimes";

const keyOf = (handle: TaskHandle): string => `${handle.driver}/${handle.id}`;

/**
 * What an earlier daemon left of a project's tasks, as its runtimes and the registry tell it:
 * offered to the services to take over after a restart, and removed otherwise.
 */
export class Leftovers {
  constructor(
    private readonly registry: Registry,
    private readonly runtimes: RuntimeRegistry,
    private readonly logger: Logger,
    /** Aborted when the daemon closes: listing and removing stop. */
    private readonly lifetime: AbortSignal,
  ) {}

  /**
   * The task an earlier daemon left for each service: the registry's handle, else one its runtime
   * lists under the service's name (started just before a crash, before the registry heard of it).
   */
  async byService(row: ProjectRow): Promise<Map<string, TaskHandle>> {
    const left = new Map<string, TaskHandle>();
    for (const { service, handle } of await this.runtimes.leftovers(row.namespace, [], { signal: this.lifetime })) if (!left.has(service)) left.set(service, handle);
    for (const { service, handle } of this.known(row)) left.set(service, handle);
    return left;
  }

  /**
   * Removes what each runtime finds in the project's namespace, and what the registry says runs,
   * that this daemon did not start, but `kept` (taken over); the registry then records the
   * services without a kept task as stopped.
   */
  async remove(row: ProjectRow, kept: readonly TaskHandle[] = []): Promise<Removed[]> {
    const removed = await this.runtimes.removeLeftovers(row.namespace, this.known(row), { signal: this.lifetime, keep: kept });
    const keep = new Set(kept.map(keyOf));
    for (const record of this.registry.services(row.projectId)) {
      if (!(record.handle && keep.has(keyOf(record.handle)))) this.registry.updateService({ ...record, status: "stopped", handle: undefined });
    }
    return removed;
  }

  /** `remove`, with what was removed in the daemon's log: after a restart, no caller is told. */
  async clear(row: ProjectRow, kept: readonly TaskHandle[]): Promise<void> {
    for (const { service, removed } of await this.remove(row, kept)) this.logger.warn({ project: row.projectId, service, cleaned: removed }, "removed what an earlier run left");
  }

  private known(row: ProjectRow): Leftover[] {
    return this.registry.services(row.projectId).flatMap((s) => (s.handle ? [{ handle: s.handle, service: s.name }] : []));
  }
}
