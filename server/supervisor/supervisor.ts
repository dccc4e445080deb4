import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { isAbsolute, join } from "node:path";
import type { Logger } from "pino";
import {
  type DeleteProjectRuntimeResponse,
  type EnsureProjectRequest,
  type EnsureProjectResponse,
  type GetProjectLogsResponse,
  type GetProjectStatusResponse,
  type ListProjectsResponse,
  type OpenProjectResponse,
  type ProjectStatus,
  type ResolvePortsResponse,
  type ServiceStatus,
  type StartProjectResponse,
  type StopProjectResponse,
  type ValidateComposeResponse,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import { DomainError } from "../errors";
import { importCompose } from "./compose";
import { HealthMonitor } from "./health";
import { interpolate } from "./interpolate";
import { ProjectLogs, type LogLine } from "./logs";
import { eventStream } from "../event-stream";
import { logPages, portMapping, projectStateOf, projectStatusOf, serviceStateOf } from "./contract";
import { loadPlan, loadRegisteredPlan, parseManifestText, readManifest } from "./plan-loader";
import type { ProjectPlan, ServicePlan } from "./plan";
import { allocatePorts, type PortRange } from "./ports";
import { supervisorError, underReason } from "./reasons";
import { StateLayout, StateMeter } from "./state-layout";
import type { PortRow, ProjectRow, ProjectState, Registry, ServiceRow, ServiceState as ServiceStateName } from "./registry";
import { mountVariable, type ResolvedMount, type RunningTask, type RuntimeDriver, type ServiceContext, type TaskHandle } from "./runtime/driver";
import type { RuntimeRegistry } from "./runtime/runtimes";

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
}

const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DEFAULT_STOP_MS = 30_000;
/** How long the youngest service must have run when StartProject returns. */
const START_SETTLE_MS = 100;
/** Host environment a service inherits; everything else comes from its plan. */
const INHERITED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TMPDIR"];
const RUNNING_STATES: ReadonlySet<ProjectState> = new Set(["starting", "running", "degraded"]);

interface LiveService {
  readonly plan: ServicePlan;
  readonly driver: RuntimeDriver;
  status: ServiceStateName;
  running: RunningTask | undefined;
  context: ServiceContext | undefined;
  startedAt: Date | undefined;
  restartCount: number;
  /** Restarts in a row, for the backoff; reset when a run lasts. */
  consecutive: number;
  stopping: boolean;
  health: HealthMonitor | undefined;
  lastExit: number | undefined;
  backoff: NodeJS.Timeout | undefined;
  exitWaiters: ((code: number) => void)[];
}

interface LiveProject {
  readonly id: string;
  readonly plan: ProjectPlan;
  readonly services: Map<string, LiveService>;
  readonly logs: ProjectLogs;
  secrets: Readonly<Record<string, string>>;
  ports: PortRow[];
  stopping: boolean;
}

/**
 * The supervisor: registers projects, turns their manifests into plans, runs them through a
 * runtime driver, and keeps the registry, logs and ports. It knows nothing of gRPC or HTTP; it
 * takes and returns the contract's messages and raises seed 002's reasons.
 */
export class Supervisor {
  private readonly live = new Map<string, LiveProject>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly logBooks = new Map<string, ProjectLogs>();
  private readonly autosave = new Map<string, { source: string; enabled: boolean }>();
  private readonly meter = new StateMeter();
  private closing = false;

  private readonly registry: Registry;

  constructor(private readonly settings: SupervisorSettings) {
    this.registry = settings.registry;
  }

  // ---- registration -------------------------------------------------------------------------

  ensure(request: EnsureProjectRequest): Promise<EnsureProjectResponse> {
    return this.locked(request.projectId, () => {
      const { projectId, packagePath } = request;
      checkEnsureArguments(request);
      const existing = this.registry.project(projectId);
      if (existing) checkSameRegistration(existing, request);
      if (!isDirectory(packagePath)) throw supervisorError("PATH_NOT_FOUND", `package_path ${packagePath} is not a directory`);
      const layout = StateLayout.of(this.settings.home, projectId, request.statePath || existing?.statePath);
      const source = request.manifest ?? readManifest(packagePath);
      const { manifest, plan } = loadPlan(source, packagePath);
      if (request.appId !== manifest.id) throw supervisorError("INVALID_MANIFEST", `app_id ${request.appId} does not match the manifest's id ${manifest.id}`);
      layout.create(manifest.state.volumes.map((v) => v.name));
      const namespace = namespaceOf(projectId);
      if (existing) this.registry.updateManifest(projectId, source, manifest.name, manifest.version, plan.services.length);
      else this.registry.insertProject({ projectId, appId: manifest.id, packagePath, statePath: layout.root, manifest: source, name: manifest.name, version: manifest.version, namespace, serviceCount: plan.services.length });
      return Promise.resolve({ projectId, namespace, created: !existing });
    });
  }

  list(filter: ProjectStatus | undefined): ListProjectsResponse {
    const status = filter === undefined ? undefined : projectStateOf(filter);
    return {
      projects: this.registry.summaries(status).map((row) => ({
        projectId: row.projectId,
        appId: row.appId,
        name: row.name,
        status: projectStatusOf(row.status),
        serviceCount: row.serviceCount,
        portCount: row.portCount,
      })),
    };
  }

  /**
   * A project's status with its state's disk usage as last measured (none before a first
   * `describe`): synchronous, for callers that want the registry's view without a disk walk.
   */
  status(projectId: string): GetProjectStatusResponse {
    const row = this.row(projectId);
    const usage = this.meter.lastOf(new StateLayout(row.statePath));
    return {
      projectId,
      appId: row.appId,
      name: row.name,
      version: row.version,
      status: projectStatusOf(row.status),
      services: this.serviceStatuses(row),
      ports: this.registry.ports(projectId).map(portMapping),
      stateSizeBytes: usage.sizeBytes,
      snapshotCount: usage.snapshotCount,
      autosaveEnabled: this.autosaveOf(row),
    };
  }

  /** GetProjectStatus: the status, with the state measured now (an asynchronous walk of current/). */
  async describe(projectId: string): Promise<GetProjectStatusResponse> {
    await this.meter.measure(new StateLayout(this.row(projectId).statePath));
    return this.status(projectId);
  }

  /**
   * A file that imports stays `valid` even with services this runtime cannot run (it is valid
   * Compose); each of those is a warning, naming what OpenProject would refuse. An invalid
   * file's services are not judged: their errors come first.
   */
  validateCompose(content: Uint8Array): ValidateComposeResponse {
    const { valid, services, report } = importCompose(Buffer.from(content).toString("utf8"));
    const { shares, unknown } = this.settings.runtimes.share(services);
    const judged = shares.flatMap(({ driver, services: shared }) => driver.problems(shared).map((p) => `services.${p.service}: cannot run on the ${driver.name} runtime: ${p.problem}`));
    const unrunnable = valid ? [...unknown.map((p) => `services.${p.service}: ${p.problem}`), ...judged] : [];
    return {
      valid,
      services: report.services,
      supportedFields: report.supported,
      transformedFields: report.transformed,
      rejectedFields: report.rejected,
      warnings: [...report.errors.map((e) => `error: ${e}`), ...report.warnings, ...unrunnable],
    };
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  open(projectId: string): Promise<OpenProjectResponse> {
    return this.locked(projectId, async () => {
      const row = this.row(projectId);
      if (row.plan !== undefined) throw supervisorError("ALREADY_OPEN", `project ${projectId} is open already`);
      const { plan } = loadRegisteredPlan(row.manifest, row.packagePath);
      const prepared = await this.prepare(plan.services);
      new StateLayout(row.statePath).populate(row.packagePath, plan.services);
      const stored: ProjectPlan = { ...plan, warnings: [...plan.warnings, ...prepared.warnings] };
      this.registry.setPlan(projectId, JSON.stringify(stored), plan.services.map((s) => s.name), "open");
      return { projectId, services: this.serviceStatuses(this.row(projectId)), imagesPulled: prepared.imagesPulled, warnings: [...stored.warnings] };
    });
  }

  start(projectId: string, secrets: Readonly<Record<string, string>>): Promise<StartProjectResponse> {
    return this.locked(projectId, async () => {
      const row = this.row(projectId);
      if (row.plan === undefined) throw supervisorError("NOT_OPEN", `project ${projectId} is not open; call OpenProject first`);
      if (RUNNING_STATES.has(row.status)) throw supervisorError("ALREADY_RUNNING", `project ${projectId} is ${row.status}`);
      const plan = JSON.parse(row.plan) as ProjectPlan;
      const missing = plan.secrets.filter((s) => s.required && !(s.name in secrets)).map((s) => s.name);
      if (missing.length > 0) throw supervisorError("MISSING_SECRET", `project ${projectId} needs the secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
      await this.startProject(row, plan, secrets);
      const after = this.row(projectId);
      return { projectId, services: this.serviceStatuses(after), ports: this.registry.ports(projectId).map(portMapping) };
    });
  }

  stop(projectId: string, timeoutSeconds: number | undefined): Promise<StopProjectResponse> {
    return this.locked(projectId, async () => {
      const row = this.row(projectId);
      const project = this.live.get(projectId);
      if (!project || !RUNNING_STATES.has(row.status)) throw supervisorError("NOT_RUNNING", `project ${projectId} is not running`);
      if (timeoutSeconds !== undefined && (timeoutSeconds < 0 || timeoutSeconds > 3600)) throw supervisorError("INVALID_ARGUMENT", "timeout_seconds must be from 0 to 3600");
      this.registry.setDesiredRunning(projectId, false);
      this.registry.setStatus(projectId, "stopping");
      await this.stopServices(project, timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000);
      this.registry.setStatus(projectId, "stopped");
      return { projectId, services: this.serviceStatuses(this.row(projectId)) };
    });
  }

  deleteRuntime(projectId: string, force: boolean): Promise<DeleteProjectRuntimeResponse> {
    return this.locked(projectId, async () => {
      const row = this.row(projectId);
      const project = this.live.get(projectId);
      const removed: string[] = [];
      if (RUNNING_STATES.has(row.status) && project) {
        if (!force) throw supervisorError("STILL_RUNNING", `project ${projectId} is running; stop it first, or pass force`);
        this.registry.setDesiredRunning(projectId, false);
        for (const service of project.services.values()) if (service.running) removed.push(`${service.driver.name} ${service.driver.displayId(service.running.handle)} (${service.plan.name})`);
        await this.stopServices(project, 10_000);
      }
      for (const { service, removed: what } of await this.removeLeftovers(row)) removed.push(`${what} (${service}, left by an earlier run)`);
      for (const port of this.registry.ports(projectId)) removed.push(`port 127.0.0.1:${port.hostPort}/${port.protocol} (${port.serviceName}:${port.containerPort})`);
      this.registry.deletePorts(projectId);
      const logs = this.logsOf(projectId);
      removed.push(...logs.remove().map((file) => `log ${file}`));
      this.live.delete(projectId);
      this.registry.setPlan(projectId, undefined, [], "registered");
      return { projectId, resourcesRemoved: removed };
    });
  }

  /**
   * A project keeps its ports while stopped, so without `refresh` the answer is the allocation
   * kept (none before a first start). Re-checking ports is about the services holding them, so
   * `refresh` needs the project running.
   */
  async resolvePorts(projectId: string, refresh: boolean): Promise<ResolvePortsResponse> {
    return this.locked(projectId, async () => {
      const row = this.row(projectId);
      if (!refresh) return { ports: this.registry.ports(projectId).map(portMapping) };
      const project = this.live.get(projectId);
      if (!project || !RUNNING_STATES.has(row.status)) throw supervisorError("NOT_RUNNING", `project ${projectId} is not running; refresh re-checks the ports of a running project`);
      const before = new Map(project.ports.map((p) => [`${p.serviceName}:${p.containerPort}/${p.protocol}`, p.hostPort]));
      const owned = async (port: PortRow): Promise<boolean> => {
        const service = project.services.get(port.serviceName);
        return service?.running !== undefined && (await service.driver.holdsPort(service.running.handle, port.hostPort, port.protocol));
      };
      project.ports = await allocatePorts(this.registry, this.settings.portRange, projectId, project.plan.services, true, owned);
      // A service whose port moved is started again, to listen where it now should.
      const moved = new Set(project.ports.filter((p) => before.get(`${p.serviceName}:${p.containerPort}/${p.protocol}`) !== p.hostPort).map((p) => p.serviceName));
      for (const name of moved) {
        const service = project.services.get(name);
        if (!service) continue;
        project.logs.note(name, "restarted: its host port moved");
        await this.stopService(project, service, undefined);
        // ResolvePorts has no START_FAILED: a service that cannot start again fails as after a crash.
        await this.startService(project, service).catch((err: unknown) => this.restartFailed(project, service, err));
      }
      return { ports: project.ports.map(portMapping) };
    });
  }

  /**
   * The last lines of the logs, then, with `follow`, lines as they come until `signal` aborts;
   * at most 500 entries a response.
   */
  async *logs(projectId: string, service: string | undefined, follow: boolean, tailLines: number | undefined, signal: AbortSignal): AsyncGenerator<GetProjectLogsResponse> {
    const row = this.row(projectId);
    if (tailLines !== undefined && (tailLines < 0 || tailLines > 100_000)) throw supervisorError("INVALID_ARGUMENT", "tail_lines must be from 0 to 100000");
    if (service !== undefined && service !== "") {
      const names = row.plan === undefined ? [] : (JSON.parse(row.plan) as ProjectPlan).services.map((s) => s.name);
      if (!names.includes(service)) throw supervisorError("NOT_FOUND", `project ${projectId} has no service ${service}`);
    }
    const only = service || undefined;
    const logs = this.logsOf(projectId);
    const wanted = (line: LogLine): boolean => only === undefined || line.service === only;
    // Subscribed before the tail is read (both synchronous), so no line falls between the two.
    const followed = follow ? eventStream<LogLine[]>(signal, (sink) => logs.follow((lines) => void sink.push(lines.filter(wanted))))[Symbol.asyncIterator]() : undefined;
    const pending = followed?.next();
    try {
      yield* logPages(logs.tail(tailLines ?? 100, only));
      if (!followed || !pending) return;
      for (let step = await pending; !step.done; step = await followed.next()) yield* logPages(step.value.flat());
    } finally {
      await followed?.return?.();
    }
  }

  /** On daemon start: projects that were running are started again; nothing is left half-started. */
  async reconcile(): Promise<void> {
    for (const row of this.registry.projects()) {
      for (const { service, removed } of await this.removeLeftovers(row)) this.settings.logger.warn({ project: row.projectId, service, cleaned: removed }, "removed what an earlier run left");
      for (const record of this.registry.services(row.projectId)) this.registry.updateService({ ...record, status: "stopped", handle: undefined });
      if (!row.desiredRunning || row.plan === undefined) {
        if (RUNNING_STATES.has(row.status) || row.status === "stopping") this.registry.setStatus(row.projectId, "stopped");
        continue;
      }
      const plan = JSON.parse(row.plan) as ProjectPlan;
      const needed = plan.secrets.filter((s) => s.required).map((s) => s.name);
      if (needed.length > 0) {
        // Secrets are never stored: a project that needs them waits for StartProject.
        this.registry.setStatus(row.projectId, "stopped");
        this.registry.setDesiredRunning(row.projectId, false);
        this.logsOf(row.projectId).note(plan.services[0]?.name ?? "project", `not restarted: it needs the secrets ${needed.join(", ")}; call StartProject`);
        continue;
      }
      this.registry.setStatus(row.projectId, "stopped");
      await this.locked(row.projectId, () => this.startProject(this.row(row.projectId), plan, {})).catch((err: unknown) => {
        this.settings.logger.error({ err, project: row.projectId }, "could not start the project again");
      });
    }
  }

  /** On daemon stop: services stop, and projects that were running start again with the next daemon. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.live.values()].map(async (project) => {
        const row = this.registry.project(project.id);
        await this.stopServices(project, 5000);
        if (row && RUNNING_STATES.has(row.status)) this.registry.setStatus(project.id, "stopped");
      }),
    );
  }

  // ---- internals ------------------------------------------------------------------------------

  /** One lifecycle operation at a time per project. */
  private locked<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(projectId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(projectId, settled);
    void settled.then(() => {
      if (this.locks.get(projectId) === settled) this.locks.delete(projectId);
    });
    return next;
  }

  /** Every driver prepares its services; a service no driver here can run fails the open, naming all of them. */
  private async prepare(services: readonly ServicePlan[]): Promise<{ imagesPulled: string[]; warnings: string[] }> {
    const { shares, unknown } = this.settings.runtimes.share(services);
    if (unknown.length > 0) {
      throw supervisorError("IMAGE_PULL_FAILED", unknown.map((p) => `${p.service}: ${p.problem}`).join("; "), { services: unknown.map((p) => p.service).join(",") });
    }
    const imagesPulled: string[] = [];
    const warnings: string[] = [];
    for (const { driver, services: shared } of shares) {
      const prepared = await driver.prepare(shared);
      imagesPulled.push(...prepared.imagesPulled);
      warnings.push(...prepared.warnings);
    }
    return { imagesPulled, warnings };
  }

  /**
   * Removes what runs of a project that this daemon did not start: what each driver lists in the
   * project's namespace, and the tasks the registry names (a registry from before task records).
   * Each driver checks a handle is still its task before it ends anything.
   */
  private async removeLeftovers(row: ProjectRow): Promise<{ service: string; removed: string }[]> {
    const found = new Map<string, { handle: TaskHandle; service: string }>();
    for (const driver of this.settings.runtimes.all()) {
      for (const task of await driver.list(row.namespace)) found.set(`${task.handle.driver}/${task.handle.id}`, { handle: task.handle, service: task.service ?? "?" });
    }
    for (const record of this.registry.services(row.projectId)) {
      if (record.handle) found.set(`${record.handle.driver}/${record.handle.id}`, { handle: record.handle, service: record.name });
    }
    const removed: { service: string; removed: string }[] = [];
    for (const { handle, service } of found.values()) {
      const what = await this.settings.runtimes.ofHandle(handle)?.remove(handle);
      if (what) removed.push({ service, removed: what });
    }
    return removed;
  }

  private displayId(handle: TaskHandle): string {
    return this.settings.runtimes.ofHandle(handle)?.displayId(handle) ?? handle.id;
  }

  private row(projectId: string): ProjectRow {
    const row = this.registry.project(projectId);
    if (!row) throw supervisorError("NOT_FOUND", `no project ${projectId}`);
    return row;
  }

  /** One log book per project, whether it runs or not, so followers see the next start too. */
  private logsOf(projectId: string): ProjectLogs {
    let logs = this.logBooks.get(projectId);
    if (!logs) {
      logs = new ProjectLogs(join(this.settings.home, "logs", projectId));
      this.logBooks.set(projectId, logs);
    }
    return logs;
  }

  /**
   * Whether a registered project autosaves, from its manifest parsed once per text (GetProjectStatus
   * asks each call). A manifest this daemon no longer accepts (stricter rules since it was
   * registered) autosaves nothing: GetProjectStatus, whose only reason is NOT_FOUND, still answers,
   * and OpenProject says what is wrong.
   */
  private autosaveOf(row: ProjectRow): boolean {
    const cached = this.autosave.get(row.projectId);
    if (cached?.source === row.manifest) return cached.enabled;
    let enabled = false;
    try {
      enabled = parseManifestText(row.manifest).state.autosave;
    } catch (err) {
      this.settings.logger.warn({ err, project: row.projectId }, "the registered manifest no longer loads");
    }
    this.autosave.set(row.projectId, { source: row.manifest, enabled });
    return enabled;
  }

  private async startProject(row: ProjectRow, plan: ProjectPlan, secrets: Readonly<Record<string, string>>): Promise<void> {
    const projectId = row.projectId;
    // StartProject's contract has START_FAILED for all that stops a start; PORT_CONFLICT is its cause.
    const ports = await allocatePorts(this.registry, this.settings.portRange, projectId, plan.services, false).catch((err: unknown) => {
      throw err instanceof DomainError ? underReason("START_FAILED", err) : err;
    });
    const project: LiveProject = {
      id: projectId,
      plan,
      services: new Map(plan.services.map((s) => [s.name, newLiveService(s, this.settings.runtimes.of(s))])),
      logs: this.logsOf(projectId),
      secrets,
      ports,
      stopping: false,
    };
    project.logs.redact(Object.values(secrets));
    this.live.set(projectId, project);
    this.registry.setDesiredRunning(projectId, true);
    this.registry.setStatus(projectId, "starting");
    let current = plan.services[0]?.name ?? "";
    try {
      for (const service of plan.services) {
        const live = project.services.get(service.name);
        if (!live) continue;
        current = service.name;
        await this.awaitDependencies(project, service);
        await this.startService(project, live);
      }
      // A service that dies at once (a missing file, a port in use) fails the start: the call
      // returns once each service has run a moment, not while it is already on its way out.
      const youngest = Math.max(...[...project.services.values()].map((s) => s.startedAt?.getTime() ?? 0));
      if (youngest + START_SETTLE_MS > Date.now()) await new Promise((resolve) => setTimeout(resolve, youngest + START_SETTLE_MS - Date.now()));
      const crashed = [...project.services.values()].find((s) => s.status === "failed");
      if (crashed) throw new DependencyError(crashed.plan.name, `${crashed.plan.name} exited with ${crashed.lastExit ?? "a signal"} right after it started`);
    } catch (err) {
      const cause = err instanceof DomainError ? underReason("START_FAILED", err).metadata : {};
      const failedService = err instanceof DependencyError ? err.service : current;
      const lines = project.logs.tail(10, failedService).map((l) => l.line).filter((l) => !l.startsWith("[ghostd]"));
      project.logs.note(failedService, `the project failed to start: ${(err as Error).message}`);
      await this.stopServices(project, 5000);
      this.registry.setDesiredRunning(projectId, false);
      this.registry.setStatus(projectId, "failed");
      throw supervisorError("START_FAILED", `${(err as Error).message}${lines.length > 0 ? `; last lines of ${failedService}: ${lines.join(" | ")}` : ""}`, cause);
    }
    this.updateProjectStatus(project);
  }

  private async awaitDependencies(project: LiveProject, service: ServicePlan): Promise<void> {
    for (const dependency of service.dependsOn) {
      const other = project.services.get(dependency.service);
      if (!other) continue;
      if (dependency.condition === "service_healthy") {
        if (!other.health) throw new DependencyError(dependency.service, `${service.name} waits for ${dependency.service} to be healthy, and it has no healthcheck`);
        await other.health.healthy().catch((err: unknown) => {
          throw new DependencyError(dependency.service, `${dependency.service} did not become healthy: ${(err as Error).message}`);
        });
      } else if (dependency.condition === "service_completed_successfully") {
        const code = other.lastExit ?? (await new Promise<number>((resolve) => other.exitWaiters.push(resolve)));
        if (code !== 0) throw new DependencyError(dependency.service, `${dependency.service} exited with ${code}; ${service.name} needs it to complete successfully`);
      } else if (other.status === "failed") {
        throw new DependencyError(dependency.service, `${dependency.service} exited with ${other.lastExit ?? "a signal"}; ${service.name} needs it running`);
      } else if (!other.running && other.lastExit === undefined) {
        throw new DependencyError(dependency.service, `${dependency.service} is not running`);
      }
    }
  }

  private async startService(project: LiveProject, live: LiveService): Promise<void> {
    const row = this.row(project.id);
    const context = this.context(row, project, live.plan);
    live.context = context;
    live.stopping = false;
    live.lastExit = undefined;
    this.setService(project, live, "starting");
    const running = await live.driver.start(context, (stream, chunk) => project.logs.write(live.plan.name, stream, chunk));
    live.running = running;
    live.startedAt = new Date();
    this.setService(project, live, "running");
    project.logs.note(live.plan.name, `started (${live.driver.name} ${live.driver.displayId(running.handle)})`);
    void running.exited.then((exit) => this.exited(project, live, running, exit.code ?? 128 + signalNumber(exit.signal)));
    if (live.plan.healthcheck) {
      const check = live.plan.healthcheck;
      live.health?.stop();
      live.health = new HealthMonitor(check, () => live.driver.exec(context, check.test, { timeoutMs: check.timeoutMs }), (health) => {
        project.logs.note(live.plan.name, `health: ${health}`);
      });
    }
  }

  /** A service ended without being asked to: its restart policy decides what comes next. */
  private exited(project: LiveProject, live: LiveService, running: RunningTask, code: number): void {
    if (live.running !== running) return;
    project.logs.flush(live.plan.name);
    live.running = undefined;
    live.lastExit = code;
    live.health?.stop(`${live.plan.name} exited with ${code}`);
    for (const waiter of live.exitWaiters.splice(0)) waiter(code);
    if (live.stopping || project.stopping || this.closing) return;
    project.logs.note(live.plan.name, `exited with ${code}`);
    const ranMs = Date.now() - (live.startedAt?.getTime() ?? Date.now());
    if (ranMs > 10_000) live.consecutive = 0;
    const { policy, maxRetries } = live.plan.restart;
    const restart = policy === "always" || policy === "unless-stopped" || (policy === "on-failure" && code !== 0 && (maxRetries === undefined || live.restartCount < maxRetries));
    if (!restart) {
      this.setService(project, live, code === 0 ? "stopped" : "failed");
      this.updateProjectStatus(project);
      return;
    }
    live.restartCount++;
    live.consecutive++;
    const delay = Math.min(100 * 2 ** (live.consecutive - 1), 30_000);
    this.setService(project, live, "starting");
    project.logs.note(live.plan.name, `restarting in ${delay} ms (restart ${live.restartCount}, policy ${policy})`);
    live.backoff = setTimeout(() => {
      live.backoff = undefined;
      if (live.stopping || project.stopping || this.closing) return;
      this.startService(project, live).then(
        () => this.updateProjectStatus(project),
        (err: unknown) => this.restartFailed(project, live, err),
      );
    }, delay);
  }

  private restartFailed(project: LiveProject, live: LiveService, err: unknown): void {
    project.logs.note(live.plan.name, `could not restart: ${(err as Error).message}`);
    this.setService(project, live, "failed");
    this.updateProjectStatus(project);
  }

  private async stopServices(project: LiveProject, graceMs: number | undefined): Promise<void> {
    project.stopping = true;
    for (const live of [...project.services.values()].reverse()) await this.stopService(project, live, graceMs);
    project.stopping = false;
  }

  private async stopService(project: LiveProject, live: LiveService, graceMs: number | undefined): Promise<void> {
    live.stopping = true;
    clearTimeout(live.backoff);
    live.backoff = undefined;
    live.health?.stop();
    live.health = undefined;
    const running = live.running;
    if (running) {
      this.setService(project, live, "stopping");
      await live.driver.stop(running.handle, { stopSignal: live.plan.stopSignal, graceMs: graceMs ?? live.plan.stopGraceMs ?? DEFAULT_STOP_MS });
      project.logs.flush(live.plan.name);
      project.logs.note(live.plan.name, "stopped");
      live.running = undefined;
    }
    this.setService(project, live, "stopped");
  }

  private setService(project: LiveProject, live: LiveService, status: ServiceStateName): void {
    live.status = status;
    const running = live.running;
    const row: ServiceRow = {
      projectId: project.id,
      name: live.plan.name,
      status,
      handle: running?.handle,
      startedAt: live.startedAt?.toISOString(),
      restartCount: live.restartCount,
    };
    this.registry.updateService(row);
  }

  private updateProjectStatus(project: LiveProject): void {
    const states = [...project.services.values()].map((s) => {
      const completed = s.status === "stopped" && s.lastExit === 0 && [...project.services.values()].some((o) => o.plan.dependsOn.some((d) => d.service === s.plan.name && d.condition === "service_completed_successfully"));
      return completed ? "done" : s.status;
    });
    const active = states.filter((s) => s !== "done");
    const status: ProjectState =
      active.every((s) => s === "running") ? "running" : active.some((s) => s === "running" || s === "starting") ? (active.some((s) => s === "failed") ? "degraded" : "running") : "failed";
    this.registry.setStatus(project.id, status);
  }

  /** The service's final environment, mounts and place. */
  private context(row: ProjectRow, project: LiveProject, service: ServicePlan): ServiceContext {
    const variables: Record<string, string> = {};
    for (const name of INHERITED_ENV) {
      const value = this.settings.env[name];
      if (value !== undefined) variables[name] = value;
    }
    variables.GHOSTD_PROJECT_ID = row.projectId;
    variables.GHOSTD_NAMESPACE = row.namespace;
    variables.GHOSTD_SERVICE = service.name;
    variables.HOST = "127.0.0.1";
    for (const port of project.ports) variables[`GHOSTD_PORT_${envName(port.serviceName)}_${port.containerPort}`] = String(port.hostPort);
    const own = project.ports.filter((p) => p.serviceName === service.name);
    for (const port of own) variables[`GHOSTD_PORT_${port.containerPort}`] = String(port.hostPort);
    if (own[0]) variables.PORT = String(own[0].hostPort);
    const layout = new StateLayout(row.statePath);
    const mounts: ResolvedMount[] = service.mounts.map((mount) => ({ kind: mount.kind, target: mount.target, readOnly: mount.readOnly, hostPath: layout.hostPath(mount) }));
    const driver = this.settings.runtimes.of(service);
    for (const mount of mounts) variables[mountVariable(mount.target)] = driver.visiblePath(mount);
    Object.assign(variables, project.secrets);
    const env: Record<string, string> = { ...variables };
    for (const [key, value] of Object.entries(service.environment)) env[key] = interpolate(value, variables);
    return {
      projectId: row.projectId,
      namespace: row.namespace,
      packagePath: row.packagePath,
      service: { ...service, entrypoint: service.entrypoint.map((a) => interpolate(a, env)), command: service.command.map((a) => interpolate(a, env)) },
      env,
      mounts,
    };
  }

  private serviceStatuses(row: ProjectRow): ServiceStatus[] {
    const project = this.live.get(row.projectId);
    return this.registry.services(row.projectId).map((record) => {
      const live = project?.services.get(record.name);
      const status: ServiceStatus = {
        name: record.name,
        status: serviceStateOf(live?.status ?? record.status),
        containerId: record.handle ? this.displayId(record.handle) : "",
        restartCount: record.restartCount,
      };
      if (record.startedAt) status.startedAt = new Date(record.startedAt);
      return status;
    });
  }
}

class DependencyError extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(message);
  }
}

function newLiveService(plan: ServicePlan, driver: RuntimeDriver): LiveService {
  return { plan, driver, status: "stopped", running: undefined, context: undefined, startedAt: undefined, restartCount: 0, consecutive: 0, stopping: false, health: undefined, lastExit: undefined, backoff: undefined, exitWaiters: [] };
}

/** The arguments of EnsureProject that are malformed whatever is registered: told before anything else. */
function checkEnsureArguments(request: EnsureProjectRequest): void {
  if (!PROJECT_ID.test(request.projectId)) throw supervisorError("INVALID_ARGUMENT", `project_id "${request.projectId}" must be letters, digits, ".", "_" or "-" (at most 128)`);
  if (!isAbsolute(request.packagePath)) throw supervisorError("INVALID_ARGUMENT", `package_path "${request.packagePath}" must be an absolute path`);
  if (request.statePath && !isAbsolute(request.statePath)) throw supervisorError("INVALID_ARGUMENT", `state_path "${request.statePath}" must be an absolute path`);
}

/**
 * A registered project is ensured again only as what it is: another app or package, or a
 * state_path given and different, is CONFLICT whatever the package now holds. An omitted
 * state_path means the one it has.
 */
function checkSameRegistration(existing: ProjectRow, request: EnsureProjectRequest): void {
  const differs = [
    existing.appId !== request.appId && `app_id ${existing.appId}`,
    existing.packagePath !== request.packagePath && `package_path ${existing.packagePath}`,
    request.statePath && existing.statePath !== request.statePath && `state_path ${existing.statePath}`,
  ].filter(Boolean);
  if (differs.length > 0) throw supervisorError("CONFLICT", `project ${request.projectId} is registered with ${differs.join(", ")}`);
}

/** `ghostd-<project id, slugged>-<hash>`: readable, and unique even where two ids slug alike. */
export function namespaceOf(projectId: string): string {
  const slug = projectId.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return `ghostd-${slug || "project"}-${createHash("sha256").update(projectId).digest("hex").slice(0, 8)}`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function envName(service: string): string {
  return service.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

/** A signal's number, for the shell's 128 + n exit code of a process it ended. */
function signalNumber(signal: string | null): number {
  const numbers: Partial<Record<string, number>> = osConstants.signals;
  return signal ? (numbers[signal] ?? 0) : 0;
}
