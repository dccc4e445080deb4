import { supervisorError } from "../../server/supervisor/reasons";
import type {
  ExecOptions,
  Exit,
  OutputSink,
  Prepared,
  ResolvedMount,
  RunningTask,
  RuntimeDriver,
  ServiceContext,
  TaskHandle,
  TaskInfo,
} from "../../server/supervisor/runtime/driver";

/** Across instances, so the runtime of a "next daemon" never hands out an id the first one did. */
let nextId = 1;

interface FakeTask {
  readonly namespace: string;
  readonly service: string;
  readonly exited: Promise<Exit>;
  readonly end: (exit: Exit) => void;
}

/**
 * A runtime that runs nothing: a start is a task that lasts until stopped, crashed by the test,
 * or fails when told to. It keeps a journal of what it was asked (`start db`, `exec db`,
 * `stop db`, `remove fake-3`), and what `list` finds besides its own tasks is the test's to say.
 */
export class FakeRuntime implements RuntimeDriver {
  readonly name: string;
  failStarts = false;
  /** The exit code of a healthcheck of a service; 0 (healthy) unless the test says otherwise. */
  execCode: (service: string) => number = () => 0;
  readonly journal: string[] = [];
  /** Tasks `list` reports in a namespace though this runtime did not start them (an earlier daemon's). */
  readonly leftovers = new Map<string, TaskInfo[]>();
  /** Namespaces whose listing fails, as an engine that does not answer. */
  readonly unlistable = new Set<string>();
  private readonly tasks = new Map<string, FakeTask>();
  /** Tasks that ended, though their exit has not been told yet (see `endUntold`). */
  private readonly untold = new Set<string>();

  constructor(name = "fake") {
    this.name = name;
  }

  problems(): [] {
    return [];
  }

  prepare(): Promise<Prepared> {
    return Promise.resolve({ imagesPulled: [], warnings: [] });
  }

  start(context: ServiceContext, _output: OutputSink): Promise<RunningTask> {
    const service = context.service.name;
    this.journal.push(`start ${service}`);
    if (this.failStarts) return Promise.reject(supervisorError("START_FAILED", `${service}: cannot run it any more`));
    const id = `fake-${nextId++}`;
    let end: (exit: Exit) => void = () => undefined;
    const exited = new Promise<Exit>((resolve) => (end = resolve));
    this.tasks.set(id, { namespace: context.namespace, service, exited, end });
    void exited.then(() => this.tasks.delete(id));
    return Promise.resolve({ handle: { driver: this.name, id }, exited });
  }

  async stop(handle: TaskHandle): Promise<void> {
    const task = this.tasks.get(handle.id);
    if (!task) return;
    this.journal.push(`stop ${task.service}`);
    task.end({ code: null, signal: "SIGTERM" });
    await task.exited;
  }

  /** Ends the running task of `service` as if it exited on its own. */
  crash(service: string, code: number): void {
    const task = [...this.tasks.values()].find((t) => t.service === service);
    if (!task) throw new Error(`${service} does not run`);
    task.end({ code, signal: null });
  }

  /**
   * Ends the running task of `service` as an engine does that answers its wait late: `state`
   * says at once that it does not run, while its exit is told only when the test calls the
   * function returned.
   */
  endUntold(service: string, code: number): () => void {
    const found = [...this.tasks].find(([, t]) => t.service === service);
    if (!found) throw new Error(`${service} does not run`);
    const [id, task] = found;
    this.untold.add(id);
    return () => task.end({ code, signal: null });
  }

  /** Whether a task of `service` runs. */
  runs(service: string): boolean {
    return [...this.tasks.values()].some((t) => t.service === service);
  }

  pause(): Promise<void> {
    return Promise.resolve();
  }

  resume(): Promise<void> {
    return Promise.resolve();
  }

  exec(context: ServiceContext, _argv: readonly string[], _options: ExecOptions): Promise<number> {
    this.journal.push(`exec ${context.service.name}`);
    return Promise.resolve(this.execCode(context.service.name));
  }

  state(handle: TaskHandle): Promise<{ alive: boolean }> {
    return Promise.resolve({ alive: this.tasks.has(handle.id) && !this.untold.has(handle.id) });
  }

  list(namespace: string): Promise<TaskInfo[]> {
    if (this.unlistable.has(namespace)) return Promise.reject(new Error(`cannot list ${namespace}`));
    const own = [...this.tasks].filter(([, t]) => t.namespace === namespace).map(([id, t]) => ({ handle: { driver: this.name, id }, service: t.service }));
    return Promise.resolve([...(this.leftovers.get(namespace) ?? []), ...own]);
  }

  remove(handle: TaskHandle): Promise<string | undefined> {
    this.journal.push(`remove ${handle.id}`);
    for (const [namespace, tasks] of this.leftovers) {
      if (tasks.some((t) => t.handle.id === handle.id)) {
        this.leftovers.set(namespace, tasks.filter((t) => t.handle.id !== handle.id));
        return Promise.resolve(`fake task ${handle.id}`);
      }
    }
    const task = this.tasks.get(handle.id);
    task?.end({ code: null, signal: "SIGKILL" });
    return Promise.resolve(task ? `fake task ${handle.id}` : undefined);
  }

  holdsPort(): Promise<boolean> {
    return Promise.resolve(false);
  }

  visiblePath(mount: ResolvedMount): string {
    return mount.hostPath;
  }

  displayId(handle: TaskHandle): string {
    return handle.id;
  }
}
