import type { ServicePlan } from "../plan";
import type { RuntimeDriver, ServiceProblem, TaskHandle } from "./driver";

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
    return service.runtime ?? this.defaultName;
  }

  /** The driver a service runs on; OpenProject has refused plans whose driver is not here. */
  of(service: ServicePlan): RuntimeDriver {
    const driver = this.drivers.get(this.nameOf(service));
    if (!driver) throw new Error(`${service.name}: no runtime driver ${this.nameOf(service)}`);
    return driver;
  }

  /** The driver of a handle, if this daemon still has it. */
  ofHandle(handle: TaskHandle): RuntimeDriver | undefined {
    return this.drivers.get(handle.driver);
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
}
