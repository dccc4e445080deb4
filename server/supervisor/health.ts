import { systemClock, type Clock } from "./clock";
import type { HealthPlan } from "./plan";

export type Health = "starting" | "healthy" | "unhealthy";

/**
 * A service's healthcheck, run as Compose runs it: every interval, failures not counting during
 * the start period, healthy after a success, unhealthy after `retries` failures in a row. The
 * first probe comes early (a quarter second, or the interval if shorter) so a start is not held.
 */
export class HealthMonitor {
  private state: Health = "starting";
  private failures = 0;
  private cancel: (() => void) | undefined;
  /** Why it stopped, once it has: told to whoever asks afterwards, who would otherwise wait forever. */
  private stopped: string | undefined;
  private readonly started: number;
  private readonly waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** Holds while the service is paused on purpose (a snapshot reading its volume): failures then do not count. */
  private holds = 0;

  constructor(
    private readonly plan: HealthPlan,
    private readonly probe: () => Promise<number>,
    private readonly changed: (health: Health) => void,
    private readonly clock: Clock = systemClock,
  ) {
    this.started = clock.now();
    this.schedule(Math.min(250, plan.intervalMs));
  }

  get health(): Health {
    return this.state;
  }

  /** Resolves once healthy; fails when unhealthy, or when `stop` is called first. */
  healthy(): Promise<void> {
    if (this.state === "healthy") return Promise.resolve();
    if (this.state === "unhealthy") return Promise.reject(new Error(`unhealthy after ${this.plan.retries} failed checks`));
    if (this.stopped !== undefined) return Promise.reject(new Error(this.stopped));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** A paused service cannot answer its probe: until the returned function is called, no failure counts. */
  suspend(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (!released) this.holds--;
      released = true;
    };
  }

  stop(reason = "the service stopped"): void {
    this.stopped ??= reason;
    this.cancel?.();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(reason));
  }

  private schedule(delay: number): void {
    if (this.stopped !== undefined) return;
    this.cancel = this.clock.after(delay, () => void this.check());
  }

  private async check(): Promise<void> {
    const heldBefore = this.holds > 0;
    const code = await this.probe().catch(() => 1);
    if (this.stopped !== undefined) return;
    if (code !== 0 && (heldBefore || this.holds > 0)) return this.schedule(this.plan.intervalMs);
    if (code === 0) {
      this.failures = 0;
      this.set("healthy");
    } else if (this.clock.now() - this.started >= this.plan.startPeriodMs) {
      this.failures++;
      if (this.failures >= this.plan.retries) this.set("unhealthy");
    }
    this.schedule(this.plan.intervalMs);
  }

  private set(health: Health): void {
    if (health === this.state) return;
    this.state = health;
    this.changed(health);
    if (health === "healthy") for (const waiter of this.waiters.splice(0)) waiter.resolve();
    if (health === "unhealthy") for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`unhealthy after ${this.plan.retries} failed checks`));
  }
}
