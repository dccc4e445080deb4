import { constants as osConstants } from "node:os";
import type { Clock } from "./clock";
import { HealthMonitor } from "./health";
import type { HealthPlan, RestartPlan, ServicePlan } from "./plan";
import type { ServiceState } from "./registry";
import type { AdoptedTask, ExecOptions, Exit, OutputSink, RunningTask, RuntimeDriver, ServiceContext, TaskHandle } from "./runtime/driver";

/** A service's stop grace when neither the call nor its plan gives one. */
export const DEFAULT_STOP_MS = 30_000;
/** A run this long resets the backoff: the service got going, and a later crash starts over. */
export const LASTING_RUN_MS = 10_000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 30_000;

/** What an instance tells of itself; the project run turns it into registry writes and log notes. */
export interface ServiceEvents {
  /** Its status, task or restart count changed. */
  changed(instance: ServiceInstance): void;
  /** A line of the supervisor's own about it, for its log. */
  note(text: string): void;
  /** What its task wrote. */
  output: OutputSink;
  /** Its task ended: what it wrote last is complete. */
  ended(): void;
  /** A restart by policy came to an end, running again or failed: the project's status may change. */
  settled(): void;
}

export interface InstanceOptions {
  readonly plan: ServicePlan;
  readonly driver: RuntimeDriver;
  readonly clock: Clock;
  /** Read at each start: the service's ports can move between runs. */
  readonly context: () => ServiceContext;
  /** Whether a restart by policy may go ahead now (not while the project stops or the daemon closes). */
  readonly mayRestart: () => boolean;
  readonly events: ServiceEvents;
}

/** Whether a service that exited with `code`, restarted `restarts` times so far, is started again. */
export function restartsAfter(restart: RestartPlan, code: number, restarts: number): boolean {
  switch (restart.policy) {
    case "always":
    case "unless-stopped":
      return true;
    case "on-failure":
      return code !== 0 && (restart.maxRetries === undefined || restarts < restart.maxRetries);
    case "no":
      return false;
  }
}

/** The wait before the n-th restart in a row: 100 ms, doubling, at most 30 s. */
export function backoffMs(inARow: number): number {
  return Math.min(BACKOFF_FIRST_MS * 2 ** (inARow - 1), BACKOFF_MAX_MS);
}

/** A shell's exit code for a task: its own, or 128 + the number of the signal that ended it. */
export function exitCode(exit: Exit): number {
  const numbers: Partial<Record<string, number>> = osConstants.signals;
  return exit.code ?? 128 + (exit.signal ? (numbers[exit.signal] ?? 0) : 0);
}

/**
 * One service of a running project, as process-compose's Process: it starts its task through its
 * driver, watches its health, and when the task ends without being asked to, restarts it by its
 * policy with a backoff. It knows nothing of the registry or the other services.
 */
export class ServiceInstance {
  private current: ServiceState = "stopped";
  private running: RunningTask | undefined;
  /** What its task was started with: a command run beside it (exec) gets the same. */
  private runContext: ServiceContext | undefined;
  private started: Date | undefined;
  private restarts = 0;
  private exitedWith: number | undefined;
  /** Restarts in a row, for the backoff; reset when a run lasts. */
  private inARow = 0;
  private stopping = false;
  private monitor: HealthMonitor | undefined;
  private probes: AbortController | undefined;
  private cancelBackoff: (() => void) | undefined;
  private readonly exitWaiters: ((code: number) => void)[] = [];

  constructor(private readonly options: InstanceOptions) {}

  get plan(): ServicePlan {
    return this.options.plan;
  }

  get name(): string {
    return this.options.plan.name;
  }

  get driver(): RuntimeDriver {
    return this.options.driver;
  }

  get status(): ServiceState {
    return this.current;
  }

  get task(): RunningTask | undefined {
    return this.running;
  }

  get startedAt(): Date | undefined {
    return this.started;
  }

  get restartCount(): number {
    return this.restarts;
  }

  /** The code its last run exited with; none while it runs or before it ran. */
  get lastExit(): number | undefined {
    return this.exitedWith;
  }

  /** Its health monitor, once started with a healthcheck. */
  get health(): HealthMonitor | undefined {
    return this.monitor;
  }

  /**
   * Resolves once its task is known to run on, or to have ended (and been handled as such). A
   * runtime may tell of an exit late (an engine answers a container's wait after polling, and
   * its output is drained first), while its state says at once that nothing runs any more.
   */
  async confirmRunning(): Promise<void> {
    const task = this.running;
    if (!task) return;
    // An engine that cannot answer now tells nothing: the exit, if any, is handled when it comes.
    const { alive } = await this.driver.state(task.handle).catch(() => ({ alive: true }));
    // `ended` was chained on `exited` at the start, so it has run when this wait is over.
    if (!alive) await task.exited;
  }

  /** Runs a command beside its task, through its driver, as a healthcheck runs; undefined when it has no task. */
  exec(argv: readonly string[], options: ExecOptions): Promise<number> | undefined {
    return this.running && this.runContext ? this.driver.exec(this.runContext, argv, options) : undefined;
  }

  /** Resolves with the code of its last exit, or of the next one. */
  exited(): Promise<number> {
    return this.exitedWith !== undefined ? Promise.resolve(this.exitedWith) : new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  async start(): Promise<void> {
    const { driver, events, clock } = this.options;
    const context = this.options.context();
    this.stopping = false;
    this.exitedWith = undefined;
    this.set("starting");
    const task = await driver.start(context, events.output);
    this.run(task, new Date(clock.now()), context);
    events.note(`started (${driver.name} ${driver.displayId(task.handle)})`);
  }

  /**
   * Takes over the task an earlier daemon started for this service, if its driver can and the
   * task still runs as this daemon would start it; whether it did. `since`: the time of the last
   * line the log book has of the service. `restarts`: the count the registry kept.
   */
  async adopt(handle: TaskHandle, since: Date | undefined, restarts: number): Promise<boolean> {
    const { driver, events } = this.options;
    if (!driver.adopt) return false;
    const context = this.options.context();
    let task: AdoptedTask | undefined;
    try {
      task = await driver.adopt(handle, context, events.output, since);
    } catch (err) {
      events.note(`could not take over ${driver.displayId(handle)}: ${(err as Error).message}`);
      return false;
    }
    if (!task) return false;
    this.restarts = restarts;
    this.run(task, task.startedAt, context);
    events.note(`taken over from an earlier daemon (${driver.name} ${driver.displayId(handle)}, running since ${task.startedAt.toISOString()})`);
    return true;
  }

  /**
   * A one-shot that is not run again: it completed in an earlier run, whose dependents still run
   * (taken over), so running it again would redo its work under them.
   */
  completedBefore(): void {
    this.exitedWith = 0;
    this.set("stopped");
    this.options.events.note("not run again: it completed before, and what depends on it still runs");
  }

  /** The task runs: it is watched for its end, and for health. */
  private run(task: RunningTask, startedAt: Date, context: ServiceContext): void {
    this.stopping = false;
    this.exitedWith = undefined;
    this.running = task;
    this.runContext = context;
    this.started = startedAt;
    this.set("running");
    void task.exited.then((exit) => this.ended(task, exitCode(exit)));
    if (this.plan.healthcheck) this.watchHealth(context, this.plan.healthcheck);
  }

  /** Stops its task (the grace of the call, else of its plan), and any restart pending. */
  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    this.cancelBackoff?.();
    this.cancelBackoff = undefined;
    this.endHealth();
    this.monitor = undefined;
    const task = this.running;
    if (task) {
      this.set("stopping");
      await this.driver.stop(task.handle, { stopSignal: this.plan.stopSignal, graceMs: graceMs ?? this.plan.stopGraceMs ?? DEFAULT_STOP_MS });
      this.options.events.ended();
      this.options.events.note("stopped");
      this.running = undefined;
    }
    this.set("stopped");
  }

  /** A restart that could not start its task: the service has failed, as after a crash. */
  restartFailed(err: unknown): void {
    this.options.events.note(`could not restart: ${(err as Error).message}`);
    this.set("failed");
    this.options.events.settled();
  }

  /** Its task ended; unless asked to, the restart policy decides what comes next. */
  private ended(task: RunningTask, code: number): void {
    if (this.running !== task) return;
    const { events, clock } = this.options;
    events.ended();
    this.running = undefined;
    this.exitedWith = code;
    this.endHealth(`${this.name} exited with ${code}`);
    for (const waiter of this.exitWaiters.splice(0)) waiter(code);
    if (this.stopping || !this.options.mayRestart()) return;
    events.note(`exited with ${code}`);
    if (clock.now() - (this.started?.getTime() ?? clock.now()) > LASTING_RUN_MS) this.inARow = 0;
    if (!restartsAfter(this.plan.restart, code, this.restarts)) {
      this.set(code === 0 ? "stopped" : "failed");
      events.settled();
      return;
    }
    this.restarts++;
    this.inARow++;
    const delay = backoffMs(this.inARow);
    this.set("starting");
    events.note(`restarting in ${delay} ms (restart ${this.restarts}, policy ${this.plan.restart.policy})`);
    this.cancelBackoff = clock.after(delay, () => {
      this.cancelBackoff = undefined;
      if (this.stopping || !this.options.mayRestart()) return;
      this.start().then(
        () => events.settled(),
        (err: unknown) => this.restartFailed(err),
      );
    });
  }

  private watchHealth(context: ServiceContext, check: HealthPlan): void {
    this.endHealth();
    // A probe still running when the service stops is ended with it, not left to its timeout.
    const probes = new AbortController();
    this.probes = probes;
    this.monitor = new HealthMonitor(
      check,
      () => this.driver.exec(context, check.test, { timeoutMs: check.timeoutMs, signal: probes.signal }),
      (health) => this.options.events.note(`health: ${health}`),
      this.options.clock,
    );
  }

  /** Stops the health monitor; its waiters fail with `reason`. The monitor stays readable until a stop. */
  private endHealth(reason?: string): void {
    this.monitor?.stop(reason);
    this.probes?.abort();
    this.probes = undefined;
  }

  private set(status: ServiceState): void {
    this.current = status;
    this.options.events.changed(this);
  }
}
