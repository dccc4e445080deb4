import { join } from "node:path";
import type { Logger } from "pino";
import type {
  DeleteProjectRuntimeResponse,
  EnsureProjectResponse,
  GetProjectLogsResponse,
  GetProjectStatusResponse,
  ListProjectsResponse,
  OpenProjectResponse,
  ProjectStatus,
  ResolvePortsResponse,
  ServiceStatus,
  StartProjectResponse,
  StopProjectResponse,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import { DomainError } from "../errors";
import { systemClock, type Clock } from "./clock";
import { portMapping, projectStateOf, projectStatusResponse, projectSummary, serviceStatus } from "./contract";
import { LogBooks, type ProjectLogs } from "./logs";
import { ProjectLocks } from "./project-locks";
import { readProjectLogs } from "./project-logs";
import { SnapshotOperations, type ProjectControl } from "./snapshot-operations";
import { SnapshotKeeper } from "./snapshots/keeper";
import { recoverState } from "./snapshots/state-swap";
import { ChunkThreads } from "./snapshots/workers/pool";
import type { ProjectPlan } from "./plan";
import { AutosaveSettings, loadRegisteredPlan } from "./plan-loader";
import { allocatePorts, type PortRange } from "./ports";
import { ProjectRun, type RunSettings } from "./project-run";
import { supervisorError, underReason } from "./reasons";
import { registerProject, type Registration } from "./registration";
import type { ProjectRow, ProjectState, Registry } from "./registry";
import type { RuntimeRegistry } from "./runtime/runtimes";
import { Leftovers } from "./leftovers";
import { checkRequiredVariables } from "./service-context";
import { StateLayout, StateMeter } from "./state-layout";

export interface SupervisorSettings {
  /** GHOSTD_HOME: default state paths and logs live under it. */
  readonly home: string;
  /** Opened and closed by whoever made the supervisor: it outlives close(). */
  readonly registry: Registry;
  readonly portRange: PortRange;
  /** The runtime drivers, by name; each service runs on the one its plan names. */
  readonly runtimes: RuntimeRegistry;
  readonly logger: Logger;
  /** The environment services start from, filtered to what a service needs (PATH, locale). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Time for restarts, healthchecks and the start settle; the system's unless a test moves it by hand. */
  readonly clock?: Clock;
}

const RUNNING_STATES: ReadonlySet<ProjectState> = new Set(["starting", "running", "degraded"]);

/**
 * Each secret becomes an environment variable of the services: a name that is empty or holds
 * "=" or a NUL byte, or a value holding a NUL byte, cannot be one (spawn threw on it, and the
 * start failed as START_FAILED quoting Node). The message names the secret, never its value.
 */
function checkSecrets(secrets: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(secrets)) {
    const what = `secret ${JSON.stringify(name.slice(0, 100))}`;
    if (name === "" || /[=\0]/.test(name)) throw supervisorError("INVALID_ARGUMENT", `${what}: a secret's name must be non-empty, without "=" or a NUL byte`);
    if (value.includes("\0")) throw supervisorError("INVALID_ARGUMENT", `${what}: its value holds a NUL byte, which no environment variable can`);
  }
}

/**
 * The supervisor's face to seed 002's contract: it takes and returns the contract's messages and
 * raises its reasons, one lifecycle operation at a time per project. What happens underneath is
 * in its own modules: registration, plan loading, a ProjectRun per running project over a
 * ServiceInstance per service, the runtime drivers, the state layout and the registry.
 */
export class Supervisor {
  private readonly runs = new Map<string, ProjectRun>();
  private readonly locks = new ProjectLocks((projectId) => this.snapshots.isSaving(projectId));
  private readonly logBooks: LogBooks;
  private readonly meter = new StateMeter();
  private readonly autosave: AutosaveSettings;
  /** Aborted by close(): no restart, preparation or listing goes on after it. */
  private readonly lifetime = new AbortController();
  private readonly registry: Registry;
  private readonly leftovers: Leftovers;
  private readonly runSettings: RunSettings;
  private readonly threads = new ChunkThreads();
  readonly snapshots: SnapshotOperations;

  constructor(private readonly settings: SupervisorSettings) {
    this.registry = settings.registry;
    this.logBooks = new LogBooks(join(settings.home, "logs"));
    this.autosave = new AutosaveSettings((project, err) => settings.logger.warn({ err, project }, "the registered manifest no longer loads"));
    this.leftovers = new Leftovers(settings.registry, settings.runtimes, settings.logger, this.lifetime.signal);
    this.runSettings = { registry: settings.registry, runtimes: settings.runtimes, clock: settings.clock ?? systemClock, lifetime: this.lifetime.signal, hostEnv: settings.env };
    const keeper = new SnapshotKeeper(this.threads, () => new Date(this.runSettings.clock.now()));
    this.snapshots = new SnapshotOperations(this.control(), keeper, { ...settings, clock: this.runSettings.clock });
  }

  ensure(request: Registration): Promise<EnsureProjectResponse> {
    return this.locks.run(request.projectId, () => Promise.resolve(registerProject(this.registry, this.settings.home, request)));
  }

  list(filter: ProjectStatus | undefined): ListProjectsResponse {
    const status = filter === undefined ? undefined : projectStateOf(filter);
    return { projects: this.registry.summaries(status).map(projectSummary) };
  }

  /**
   * A project's status with its state's disk usage as last measured (none before a first
   * `describe`): synchronous, for callers that want the registry's view without a disk walk.
   */
  status(projectId: string): GetProjectStatusResponse {
    const row = this.row(projectId);
    const usage = this.meter.lastOf(new StateLayout(row.statePath));
    return projectStatusResponse(row, this.serviceStatuses(projectId), this.registry.ports(projectId), usage, this.autosave.of(projectId, row.manifest));
  }

  /** GetProjectStatus: the status, with the state measured now (an asynchronous walk of current/). */
  async describe(projectId: string): Promise<GetProjectStatusResponse> {
    await this.meter.measure(new StateLayout(this.row(projectId).statePath));
    return this.status(projectId);
  }

  open(projectId: string): Promise<OpenProjectResponse> {
    return this.locks.run(projectId, async () => {
      const row = this.row(projectId);
      if (row.plan !== undefined) throw supervisorError("ALREADY_OPEN", `project ${projectId} is open already`);
      const { plan } = loadRegisteredPlan(row.manifest, row.packagePath);
      const logs = this.logBooks.of(projectId);
      const prepared = await this.settings.runtimes.prepare(plan.services, {
        signal: this.lifetime.signal,
        note: (service, text) => logs.note(service, text),
        project: { projectId, namespace: row.namespace, packagePath: row.packagePath },
      });
      new StateLayout(row.statePath).populate(row.packagePath, plan.services);
      const stored: ProjectPlan = { ...plan, warnings: [...plan.warnings, ...prepared.warnings] };
      this.registry.setPlan(projectId, JSON.stringify(stored), plan.services.map((s) => s.name), "open");
      return { projectId, services: this.serviceStatuses(projectId), imagesPulled: prepared.imagesPulled, warnings: [...stored.warnings] };
    });
  }

  start(projectId: string, secrets: Readonly<Record<string, string>>): Promise<StartProjectResponse> {
    return this.locks.run(projectId, () => this.startLocked(projectId, secrets));
  }

  private async startLocked(projectId: string, secrets: Readonly<Record<string, string>>): Promise<StartProjectResponse> {
    const row = this.row(projectId);
    if (row.plan === undefined) throw supervisorError("NOT_OPEN", `project ${projectId} is not open; call OpenProject first`);
    if (RUNNING_STATES.has(row.status)) throw supervisorError("ALREADY_RUNNING", `project ${projectId} is ${row.status}`);
    checkSecrets(secrets);
    const plan = JSON.parse(row.plan) as ProjectPlan;
    const missing = plan.secrets.filter((s) => s.required && !(s.name in secrets)).map((s) => s.name);
    if (missing.length > 0) throw supervisorError("MISSING_SECRET", `project ${projectId} needs the secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
    checkRequiredVariables(plan.services, secrets);
    await this.startRun(row, plan, secrets);
    return { projectId, services: this.serviceStatuses(projectId), ports: this.registry.ports(projectId).map(portMapping) };
  }

  stop(projectId: string, timeoutSeconds: number | undefined): Promise<StopProjectResponse> {
    return this.locks.run(projectId, async () => {
      const run = this.running(projectId, `project ${projectId} is not running`);
      if (timeoutSeconds !== undefined && (timeoutSeconds < 0 || timeoutSeconds > 3600)) throw supervisorError("INVALID_ARGUMENT", "timeout_seconds must be from 0 to 3600");
      await this.stopRun(projectId, run, timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000);
      return { projectId, services: this.serviceStatuses(projectId) };
    });
  }

  private async stopRun(projectId: string, run: ProjectRun, graceMs: number | undefined): Promise<void> {
    this.registry.setDesiredRunning(projectId, false);
    this.registry.setStatus(projectId, "stopping");
    await this.snapshots.autosaves.stop(projectId);
    await run.stop(graceMs);
    this.registry.setStatus(projectId, "stopped");
  }

  deleteRuntime(projectId: string, force: boolean): Promise<DeleteProjectRuntimeResponse> {
    return this.locks.run(projectId, async () => {
      const row = this.row(projectId);
      const run = this.runs.get(projectId);
      const removed: string[] = [];
      if (RUNNING_STATES.has(row.status) && run) {
        if (!force) throw supervisorError("STILL_RUNNING", `project ${projectId} is running; stop it first, or pass force`);
        this.registry.setDesiredRunning(projectId, false);
        removed.push(...run.tasks().map(({ service, handle }) => `${handle.driver} ${this.settings.runtimes.displayId(handle)} (${service})`));
        await this.snapshots.autosaves.stop(projectId);
        await run.stop(10_000);
      }
      removed.push(...(await this.leftovers.remove(row)).map(({ service, removed: what }) => `${what} (${service}, left by an earlier run)`));
      removed.push(...(await this.settings.runtimes.removeNamespace(row.namespace)));
      removed.push(...this.registry.ports(projectId).map((p) => `port 127.0.0.1:${p.hostPort}/${p.protocol} (${p.serviceName}:${p.containerPort})`));
      this.registry.deletePorts(projectId);
      removed.push(...this.logBooks.of(projectId).remove().map((file) => `log ${file}`));
      this.runs.delete(projectId);
      this.registry.setPlan(projectId, undefined, [], "registered");
      return { projectId, resourcesRemoved: removed };
    });
  }

  /**
   * A project keeps its ports while stopped, so without `refresh` the answer is the allocation
   * kept (none before a first start). Re-checking ports is about the services holding them, so
   * `refresh` needs the project running; a service whose port moved starts again to listen
   * where it now should.
   */
  resolvePorts(projectId: string, refresh: boolean): Promise<ResolvePortsResponse> {
    return this.locks.run(projectId, async () => {
      this.row(projectId);
      if (!refresh) return { ports: this.registry.ports(projectId).map(portMapping) };
      const run = this.running(projectId, `project ${projectId} is not running; refresh re-checks the ports of a running project`);
      const keyOf = (p: { serviceName: string; containerPort: number; protocol: string }): string => `${p.serviceName}:${p.containerPort}/${p.protocol}`;
      const before = new Map(run.ports.map((p) => [keyOf(p), p.hostPort]));
      const ports = await allocatePorts(this.registry, this.settings.portRange, projectId, run.plan.services, true, (port) => run.holds(port));
      run.movePorts(ports);
      // ResolvePorts has no START_FAILED: a service that cannot start again fails as after a crash.
      for (const name of new Set(ports.filter((p) => before.get(keyOf(p)) !== p.hostPort).map((p) => p.serviceName))) await run.restart(name, "its host port moved");
      return { ports: ports.map(portMapping) };
    });
  }

  /** GetProjectLogs: the last lines, then, with `follow`, lines as they come until `signal` aborts. */
  /** Throws NOT_FOUND for an unknown project before any log is read. */
  logs(projectId: string, service: string | undefined, follow: boolean, tailLines: number | undefined, signal: AbortSignal): AsyncGenerator<GetProjectLogsResponse> {
    return readProjectLogs(this.row(projectId), this.logBooks.of(projectId), { service, follow, tailLines, signal });
  }

  /**
   * On daemon start: what an earlier daemon left is removed, and projects that were running are
   * started again. A project whose leftovers cannot be told (a runtime that does not answer) is
   * not started over what may still run; the others go on.
   */
  async reconcile(): Promise<void> {
    for (const row of this.registry.projects()) {
      await this.reconcileProject(row).catch((err: unknown) => this.settings.logger.error({ err, project: row.projectId }, "could not bring the project back"));
    }
  }

  /** On daemon stop: services stop, and projects that were running start again with the next daemon. */
  async close(): Promise<void> {
    this.lifetime.abort();
    await this.snapshots.autosaves.close();
    void this.threads.close();
    await Promise.all(
      [...this.runs.values()].map(async (run) => {
        const row = this.registry.project(run.id);
        await run.stop(5000);
        if (row && RUNNING_STATES.has(row.status)) this.registry.setStatus(run.id, "stopped");
      }),
    );
  }

  /**
   * A project that was running comes back: its services take over the tasks an earlier daemon
   * left running where their runtime can (containers), the rest of what it left is removed, and
   * what does not run is started. One that needs secrets (never stored) waits for StartProject.
   */
  private async reconcileProject(row: ProjectRow): Promise<void> {
    // In the project's lock: a restore called while the daemon starts must not have its staging removed under it.
    for (const done of await this.locks.run(row.projectId, () => recoverState(row.statePath))) this.settings.logger.warn({ project: row.projectId }, done);
    if (RUNNING_STATES.has(row.status) || row.status === "stopping") this.registry.setStatus(row.projectId, "stopped");
    const plan = resumablePlan(row, this.registry, this.logBooks.of(row.projectId));
    if (plan) await this.locks.run(row.projectId, () => this.startRun(this.row(row.projectId), plan, {}, true));
    else await this.leftovers.clear(row, []);
  }

  /** Starts a project's run; `resume`: after a daemon restart, taking over what an earlier daemon left running. */
  private async startRun(row: ProjectRow, plan: ProjectPlan, secrets: Readonly<Record<string, string>>, resume = false): Promise<void> {
    this.settings.runtimes.checkStartable(plan.services);
    // StartProject's contract has START_FAILED for all that stops a start; PORT_CONFLICT is its cause.
    const ports = await allocatePorts(this.registry, this.settings.portRange, row.projectId, plan.services, false).catch((err: unknown) => {
      throw err instanceof DomainError ? underReason("START_FAILED", err) : err;
    });
    const run = new ProjectRun({ project: row, plan, logs: this.logBooks.of(row.projectId), secrets, ports }, this.runSettings);
    this.runs.set(row.projectId, run);
    if (resume) await this.leftovers.clear(row, await run.adopt(await this.leftovers.byService(row)));
    await run.start();
    this.snapshots.autosaves.start(row);
  }

  /** What snapshot operations may do with the lifecycle: take the lock, stop a run and start it again. */
  private control(): ProjectControl {
    return {
      locked: (projectId, fn) => this.locks.run(projectId, fn),
      row: (projectId) => this.row(projectId),
      running: (projectId) => (RUNNING_STATES.has(this.row(projectId).status) ? this.runs.get(projectId) : undefined),
      stopForRestore: async (projectId) => {
        const run = this.runs.get(projectId);
        if (!run || !RUNNING_STATES.has(this.row(projectId).status)) return undefined;
        await this.stopRun(projectId, run, undefined);
        return run.secrets;
      },
      startAgain: async (projectId, secrets) => {
        await this.startLocked(projectId, secrets);
      },
      serviceStatuses: (projectId) => this.serviceStatuses(projectId),
    };
  }

  private row(projectId: string): ProjectRow {
    const row = this.registry.project(projectId);
    if (!row) throw supervisorError("NOT_FOUND", `no project ${projectId}`);
    return row;
  }

  /** The project's run, if the project is running: NOT_RUNNING (with `message`) otherwise. */
  private running(projectId: string, message: string): ProjectRun {
    const row = this.row(projectId);
    const run = this.runs.get(projectId);
    if (!run || !RUNNING_STATES.has(row.status)) throw supervisorError("NOT_RUNNING", message);
    return run;
  }

  private serviceStatuses(projectId: string): ServiceStatus[] {
    const run = this.runs.get(projectId);
    return this.registry.services(projectId).map((record) => serviceStatus(record, run?.services.get(record.name)?.status ?? record.status, record.handle ? this.settings.runtimes.displayId(record.handle) : ""));
  }

}

/**
 * The plan of a project to bring back after a daemon restart, if it was running; none when it
 * needs secrets, which are never stored: it then waits for StartProject, and says so in its log.
 */
function resumablePlan(row: ProjectRow, registry: Registry, logs: ProjectLogs): ProjectPlan | undefined {
  if (!row.desiredRunning || row.plan === undefined) return undefined;
  const plan = JSON.parse(row.plan) as ProjectPlan;
  const needed = plan.secrets.filter((s) => s.required).map((s) => s.name);
  if (needed.length === 0) return plan;
  registry.setDesiredRunning(row.projectId, false);
  logs.note(plan.services[0]?.name ?? "project", `not restarted: it needs the secrets ${needed.join(", ")}; call StartProject`);
  return undefined;
}

/** One lifecycle operation at a time per project; the others wait their turn, in order. */
