import { DomainError } from "../errors";
import { sleep, type Clock } from "./clock";
import type { ProjectLogs } from "./logs";
import type { DependencyPlan, ProjectPlan, ServicePlan } from "./plan";
import { supervisorError, underReason } from "./reasons";
import type { PortRow, ProjectRow, ProjectState, Registry, ServiceState } from "./registry";
import type { TaskHandle } from "./runtime/driver";
import type { RuntimeRegistry } from "./runtime/runtimes";
import { serviceContext } from "./service-context";
import { ServiceInstance, type ServiceEvents } from "./service-instance";

/** How long the youngest service must have run when StartProject returns. */
export const START_SETTLE_MS = 100;

/** What every run of this daemon shares. */
export interface RunSettings {
  readonly registry: Registry;
  readonly runtimes: RuntimeRegistry;
  readonly clock: Clock;
  /** Aborted when the daemon closes: nothing is restarted after that. */
  readonly lifetime: AbortSignal;
  /** The daemon's environment, which services inherit a few variables of. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
}

export interface RunSpec {
  readonly project: ProjectRow;
  readonly plan: ProjectPlan;
  readonly logs: ProjectLogs;
  readonly secrets: Readonly<Record<string, string>>;
  readonly ports: PortRow[];
}

/** What a service's status comes to for its project's. */
export interface ServiceStanding {
  readonly name: string;
  readonly status: ServiceState;
  readonly lastExit: number | undefined;
  readonly plan: ServicePlan;
}

/** A start that failed because of one service (a dependency, a crash right after starting). */
class ServiceFailure extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A one-shot (depended on to complete successfully) that exited 0 is done, not stopped. Of the
 * other services: all running is running; some running or starting is running, or degraded if
 * some failed for good; none running is failed.
 */
export function projectState(services: readonly ServiceStanding[]): ProjectState {
  const oneShots = new Set(services.flatMap((s) => s.plan.dependsOn.filter((d) => d.condition === "service_completed_successfully").map((d) => d.service)));
  const done = (s: ServiceStanding): boolean => s.status === "stopped" && s.lastExit === 0 && oneShots.has(s.name);
  const active = services.filter((s) => !done(s)).map((s) => s.status);
  if (active.every((s) => s === "running")) return "running";
  if (!active.some((s) => s === "running" || s === "starting")) return "failed";
  return active.includes("failed") ? "degraded" : "running";
}

/**
 * One project's run: its services started in plan order (each after what it depends on, with
 * the dependency's condition met), stopped in reverse, and its status kept in the registry from
 * its services'. It turns what each service instance reports into registry writes and log notes.
 */
export class ProjectRun {
  readonly services: ReadonlyMap<string, ServiceInstance>;
  private stopping = false;

  constructor(
    private readonly spec: RunSpec,
    private readonly settings: RunSettings,
  ) {
    this.services = new Map(spec.plan.services.map((plan) => [plan.name, this.instance(plan)]));
  }

  get id(): string {
    return this.spec.project.projectId;
  }

  get plan(): ProjectPlan {
    return this.spec.plan;
  }

  /** The secrets it started with, so a restore can start it again as it was. */
  get secrets(): Readonly<Record<string, string>> {
    return this.spec.secrets;
  }

  get ports(): readonly PortRow[] {
    return this.spec.ports;
  }

  /**
   * Starts every service, then waits until the youngest has run START_SETTLE_MS and each runtime
   * says its task still runs: a service that dies at once (a missing file, a port in use) fails
   * the start rather than the call returning while it is on its way out. Any failure is
   * START_FAILED with the service's last lines, after what started has been stopped.
   */
  async start(): Promise<void> {
    const { registry } = this.settings;
    this.spec.logs.redact(Object.values(this.spec.secrets));
    registry.setDesiredRunning(this.id, true);
    registry.setStatus(this.id, "starting");
    let current = this.spec.plan.services[0]?.name ?? "";
    try {
      for (const service of this.services.values()) {
        current = service.name;
        // Taken over from an earlier daemon: running already.
        if (service.task) continue;
        if (this.doneBefore(service)) {
          service.completedBefore();
          continue;
        }
        await this.dependenciesOf(service.plan);
        await service.start();
      }
      await this.settle();
    } catch (err) {
      await this.failStart(err instanceof ServiceFailure ? err.service : current, err);
    }
    this.updateStatus();
  }

  /**
   * Before `start` after a daemon restart: each service takes over the task an earlier daemon
   * left it (`left`), if that still runs as it would be started now. Returns the tasks taken
   * over; the others are leftovers to remove, and `start` starts their services afresh.
   */
  async adopt(left: ReadonlyMap<string, TaskHandle>): Promise<TaskHandle[]> {
    const adopted: TaskHandle[] = [];
    const records = new Map(this.settings.registry.services(this.id).map((r) => [r.name, r]));
    for (const service of this.services.values()) {
      const handle = left.get(service.name);
      const since = this.spec.logs.tail(1, service.name)[0]?.timestamp;
      if (handle && (await service.adopt(handle, since, records.get(service.name)?.restartCount ?? 0))) adopted.push(handle);
    }
    return adopted;
  }

  /** Stops every service, in reverse start order. */
  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    for (const service of [...this.services.values()].reverse()) await service.stop(graceMs);
    this.stopping = false;
  }

  /** Starts a service again where its ports now are; one that cannot start again fails as after a crash. */
  async restart(name: string, why: string): Promise<void> {
    const service = this.services.get(name);
    if (!service) return;
    this.spec.logs.note(name, `restarted: ${why}`);
    await service.stop();
    await service.start().catch((err: unknown) => service.restartFailed(err));
  }

  /** New host ports, which services started from now on are told of. */
  movePorts(ports: readonly PortRow[]): void {
    this.spec.ports.splice(0, this.spec.ports.length, ...ports);
  }

  /** Whether the service a port is for holds it, as its runtime tells. */
  async holds(port: PortRow): Promise<boolean> {
    const service = this.services.get(port.serviceName);
    const task = service?.task;
    return service !== undefined && task !== undefined && (await service.driver.holdsPort(task.handle, port.hostPort, port.protocol));
  }

  /** The tasks running now, with their services. */
  tasks(): { service: string; handle: TaskHandle }[] {
    return [...this.services.values()].flatMap((s) => (s.task ? [{ service: s.name, handle: s.task.handle }] : []));
  }

  private instance(plan: ServicePlan): ServiceInstance {
    const { registry, runtimes, clock, lifetime, hostEnv } = this.settings;
    const { project, logs, secrets } = this.spec;
    const driver = runtimes.of(plan);
    const events: ServiceEvents = {
      changed: (s) => registry.updateService({ projectId: this.id, name: s.name, status: s.status, handle: s.task?.handle, startedAt: s.startedAt?.toISOString(), restartCount: s.restartCount }),
      note: (text) => logs.note(plan.name, text),
      output: (stream, chunk) => logs.write(plan.name, stream, chunk),
      ended: () => logs.flush(plan.name),
      settled: () => this.updateStatus(),
    };
    return new ServiceInstance({
      plan,
      driver,
      clock,
      context: () => serviceContext({ project, service: plan, driver, ports: this.spec.ports, secrets, hostEnv, projectPlan: this.spec.plan }),
      mayRestart: () => !this.stopping && !lifetime.aborted,
      events,
    });
  }

  /**
   * A one-shot whose dependents were taken over running: it completed in the run they started
   * in, so it is not run again under them.
   */
  private doneBefore(service: ServiceInstance): boolean {
    const dependents = [...this.services.values()].filter((s) => s.plan.dependsOn.some((d) => d.service === service.name && d.condition === "service_completed_successfully"));
    return dependents.length > 0 && dependents.every((s) => s.task !== undefined);
  }

  private async dependenciesOf(service: ServicePlan): Promise<void> {
    for (const dependency of service.dependsOn) {
      const other = this.services.get(dependency.service);
      if (other) await this.dependency(service, dependency, other);
    }
  }

  /** Waits until `other` meets the dependency's condition, or fails naming it. */
  private async dependency(service: ServicePlan, dependency: DependencyPlan, other: ServiceInstance): Promise<void> {
    const failure = (message: string): ServiceFailure => new ServiceFailure(other.name, message);
    if (dependency.condition === "service_healthy") {
      const health = other.health;
      if (!health) throw failure(`${service.name} waits for ${other.name} to be healthy, and it has no healthcheck`);
      await health.healthy().catch((err: unknown) => {
        throw failure(`${other.name} did not become healthy: ${(err as Error).message}`);
      });
    } else if (dependency.condition === "service_completed_successfully") {
      const code = await other.exited();
      if (code !== 0) throw failure(`${other.name} exited with ${code}; ${service.name} needs it to complete successfully`);
    } else if (other.status === "failed") {
      throw failure(`${other.name} exited with ${other.lastExit ?? "a signal"}; ${service.name} needs it running`);
    } else if (!other.task && other.lastExit === undefined) {
      throw failure(`${other.name} is not running`);
    }
  }

  private async settle(): Promise<void> {
    const { clock } = this.settings;
    const youngest = Math.max(...[...this.services.values()].map((s) => s.startedAt?.getTime() ?? 0));
    if (youngest + START_SETTLE_MS > clock.now()) await sleep(clock, youngest + START_SETTLE_MS - clock.now());
    await Promise.all([...this.services.values()].map((s) => s.confirmRunning()));
    const crashed = [...this.services.values()].find((s) => s.status === "failed");
    if (crashed) throw new ServiceFailure(crashed.name, `${crashed.name} exited with ${crashed.lastExit ?? "a signal"} right after it started`);
  }

  /** StartProject's contract has START_FAILED for all that stops a start; the failure's own reason is its cause. */
  private async failStart(service: string, err: unknown): Promise<never> {
    const { registry } = this.settings;
    const { logs } = this.spec;
    const cause = err instanceof DomainError ? underReason("START_FAILED", err).metadata : {};
    const message = (err as Error).message;
    const lines = logs.tail(10, service).map((l) => l.line).filter((l) => !l.startsWith("[ghostd]"));
    logs.note(service, `the project failed to start: ${message}`);
    await this.stop(5000);
    registry.setDesiredRunning(this.id, false);
    registry.setStatus(this.id, "failed");
    throw supervisorError("START_FAILED", `${message}${lines.length > 0 ? `; last lines of ${service}: ${lines.join(" | ")}` : ""}`, cause);
  }

  private updateStatus(): void {
    this.settings.registry.setStatus(this.id, projectState([...this.services.values()]));
  }
}
