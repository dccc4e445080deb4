import type { ServicePlan } from "../plan";
import { supervisorError } from "../reasons";
import { cannotStart, type Cancellable, type PrepareOptions, type Prepared, type RuntimeDriver, type ServiceProblem, type TaskHandle } from "./driver";

/** The runtime a service runs on when its plan names none. */
export const DEFAULT_RUNTIME = "process";

/** Services that go to one driver, in plan order. */
export interface DriverShare {
  readonly driver: RuntimeDriver;
  readonly services: readonly ServicePlan[];
}

/**
 * The runtime drivers of this daemon, by name. A service names its driver in its plan (the
 * default otherwise), so a container driver is registered beside the process runtime and the
 * supervisor never picks one by hand.
 */
export class RuntimeRegistry {
  private readonly drivers = new Map<string, RuntimeDriver>();

  constructor(
    drivers: Iterable<RuntimeDriver>,
    readonly defaultName: string = DEFAULT_RUNTIME,
    /** The runtime a service goes to when its plan names none (see `placement`); the default otherwise. */
    private readonly placement: (service: ServicePlan) => string | undefined = () => undefined,
  ) {
    for (const driver of drivers) {
      if (this.drivers.has(driver.name)) throw new Error(`two runtime drivers are named ${driver.name}`);
      this.drivers.set(driver.name, driver);
    }
  }

  get(name: string): RuntimeDriver | undefined {
    return this.drivers.get(name);
  }

  all(): RuntimeDriver[] {
    return [...this.drivers.values()];
  }

  /** The name of the driver a service runs on. */
  nameOf(service: ServicePlan): string {
    return service.runtime ?? this.placement(service) ?? this.defaultName;
  }

  /** The driver a service runs on. OpenProject refuses plans whose driver is not here; one gone since fails the start. */
  of(service: ServicePlan): RuntimeDriver {
    const driver = this.drivers.get(this.nameOf(service));
    if (!driver) throw supervisorError("START_FAILED", `${service.name}: no runtime "${this.nameOf(service)}" here any more; open the project again`);
    return driver;
  }

  /** The driver of a handle, if this daemon still has it. */
  ofHandle(handle: TaskHandle): RuntimeDriver | undefined {
    return this.drivers.get(handle.driver);
  }

  /** A handle as users see it (ServiceStatus.container_id); its raw id if its driver is gone. */
  displayId(handle: TaskHandle): string {
    return this.ofHandle(handle)?.displayId(handle) ?? handle.id;
  }

  /** Services by driver, and a problem for each whose driver is not registered here. */
  share(services: readonly ServicePlan[]): { shares: DriverShare[]; unknown: ServiceProblem[] } {
    const byDriver = new Map<RuntimeDriver, ServicePlan[]>();
    const unknown: ServiceProblem[] = [];
    for (const service of services) {
      const driver = this.drivers.get(this.nameOf(service));
      if (driver) byDriver.set(driver, [...(byDriver.get(driver) ?? []), service]);
      else unknown.push({ service: service.name, problem: `no runtime "${this.nameOf(service)}" here; this daemon has ${[...this.drivers.keys()].join(", ")}`, kind: "runtime" });
    }
    return { shares: [...byDriver].map(([driver, shared]) => ({ driver, services: shared })), unknown };
  }

  /**
   * What keeps each service from running here, for ValidateCompose: a runtime this daemon lacks,
   * or its driver's judgement. Not judged for a runtime this daemon lacks beyond saying so.
   */
  problems(services: readonly ServicePlan[]): ServiceProblem[] {
    const { shares, unknown } = this.share(services);
    const judged = shares.flatMap(({ driver, services: shared }) => driver.problems(shared).map((p) => ({ ...p, problem: `cannot run on the ${driver.name} runtime: ${p.problem}` })));
    return [...unknown, ...judged];
  }

  /** START_FAILED, naming each, when a service's program (or the engine it needs) is missing on its runtime. */
  checkStartable(services: readonly ServicePlan[]): void {
    const missing = this.share(services).shares.flatMap(({ driver, services: shared }) => driver.problems(shared).filter((p) => p.kind !== "runtime"));
    if (missing.length > 0) throw cannotStart(missing);
  }

  /** Every driver prepares its services; a service no driver here runs fails the open, naming all such services. */
  async prepare(services: readonly ServicePlan[], options: PrepareOptions = {}): Promise<Prepared> {
    const { shares, unknown } = this.share(services);
    if (unknown.length > 0) {
      throw supervisorError("IMAGE_PULL_FAILED", unknown.map((p) => `${p.service}: ${p.problem}`).join("; "), { services: unknown.map((p) => p.service).join(",") });
    }
    const prepared: Prepared = { imagesPulled: [], warnings: [] };
    for (const { driver, services: shared } of shares) {
      const own = await driver.prepare(shared, options);
      prepared.imagesPulled.push(...own.imagesPulled);
      prepared.warnings.push(...own.warnings);
    }
    return prepared;
  }

  /**
   * Removes what runs in a namespace that this daemon did not start: what each driver lists
   * there, and the tasks `known` names (the registry's, which may predate a driver's own
   * records). Each driver checks a handle is still its task before it ends anything.
   */
  async removeLeftovers(namespace: string, known: readonly Leftover[], options: LeftoverOptions = {}): Promise<Removed[]> {
    const found = new Map<string, Leftover>();
    for (const task of await this.leftovers(namespace, known, options)) found.set(keyOf(task.handle), task);
    for (const handle of options.keep ?? []) found.delete(keyOf(handle));
    const removed: Removed[] = [];
    for (const { handle, service } of found.values()) {
      const what = await this.ofHandle(handle)?.remove(handle);
      if (what !== undefined) removed.push({ service, removed: what });
    }
    return removed;
  }

  /**
   * The tasks of a namespace that this daemon did not start: what each driver lists there, and
   * those `known` names (the registry's, which win: they name the service for sure).
   */
  async leftovers(namespace: string, known: readonly Leftover[], options: Cancellable = {}): Promise<Leftover[]> {
    const found = new Map<string, Leftover>();
    for (const driver of this.drivers.values()) {
      for (const task of await driver.list(namespace, options)) found.set(keyOf(task.handle), { handle: task.handle, service: task.service ?? "?" });
    }
    for (const task of known) found.set(keyOf(task.handle), task);
    return [...found.values()];
  }

  /** What the runtimes keep for a namespace beside its tasks (a network), removed once the tasks are gone. */
  async removeNamespace(namespace: string): Promise<string[]> {
    const removed: string[] = [];
    for (const driver of this.drivers.values()) removed.push(...((await driver.removeNamespace?.(namespace)) ?? []));
    return removed;
  }
}

export interface LeftoverOptions extends Cancellable {
  /** Tasks not to remove: those taken over by this daemon. */
  readonly keep?: readonly TaskHandle[];
}

/** A task of a service, which may still run. */
export interface Leftover {
  readonly handle: TaskHandle;
  readonly service: string;
}

/** What `removeLeftovers` ended, in the driver's words (`process group 123`). */
export interface Removed {
  readonly service: string;
  readonly removed: string;
}

function keyOf(handle: TaskHandle): string {
  return `${handle.driver}/${handle.id}`;
}
