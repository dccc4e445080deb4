import { supervisorError } from "../../server/supervisor/reasons";
import type { Exit, OutputSink, Prepared, ResolvedMount, RunningTask, RuntimeDriver, ServiceContext, TaskHandle, TaskInfo } from "../../server/supervisor/runtime/driver";

/** Above any pid_max, so no process, and no process group, ever has it. */
const FIRST_PID = 2 ** 22 + 1;

/** A runtime that runs nothing: a start is a handle that lasts until stopped, or fails when told to. */
export class FakeRuntime implements RuntimeDriver {
  readonly name = "fake";
  failStarts = false;
  private nextPid = FIRST_PID;
  private readonly ends = new Map<string, (exit: Exit) => void>();
  private readonly exits = new Map<string, Promise<Exit>>();

  problems(): [] {
    return [];
  }

  prepare(): Promise<Prepared> {
    return Promise.resolve({ imagesPulled: [], warnings: [] });
  }

  start(context: ServiceContext, _output: OutputSink): Promise<RunningTask> {
    if (this.failStarts) return Promise.reject(supervisorError("START_FAILED", `${context.service.name}: cannot run it any more`));
    const id = String(this.nextPid++);
    const exited = new Promise<Exit>((resolve) => this.ends.set(id, resolve));
    this.exits.set(id, exited);
    return Promise.resolve({ handle: { driver: this.name, id }, exited });
  }

  async stop(handle: TaskHandle): Promise<void> {
    this.ends.get(handle.id)?.({ code: null, signal: "SIGTERM" });
    await this.exits.get(handle.id);
  }

  pause(): Promise<void> {
    return Promise.resolve();
  }
  resume(): Promise<void> {
    return Promise.resolve();
  }
  exec(): Promise<number> {
    return Promise.resolve(0);
  }
  state(): Promise<{ alive: boolean }> {
    return Promise.resolve({ alive: true });
  }
  list(): Promise<TaskInfo[]> {
    return Promise.resolve([]);
  }
  remove(): Promise<string | undefined> {
    return Promise.resolve(undefined);
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
