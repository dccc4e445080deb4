import { supervisorError } from "../../server/supervisor/reasons";
import type { Exit, ResolvedMount, RunningService, RuntimeDriver, ServiceContext } from "../../server/supervisor/runtime/driver";

/** Above any pid_max, so no process, and no process group, ever has it. */
const FIRST_PID = 2 ** 22 + 1;

/** A runtime that runs nothing: a start is a handle that lasts until stopped, or fails when told to. */
export class FakeRuntime implements RuntimeDriver {
  readonly name = "fake";
  failStarts = false;
  private nextPid = FIRST_PID;
  private readonly ends = new Map<number, (exit: Exit) => void>();

  problems(): [] {
    return [];
  }

  prepare(): Promise<{ imagesPulled: string[]; warnings: string[] }> {
    return Promise.resolve({ imagesPulled: [], warnings: [] });
  }

  start(context: ServiceContext): Promise<RunningService> {
    if (this.failStarts) return Promise.reject(supervisorError("START_FAILED", `${context.service.name}: cannot run it any more`));
    const pid = this.nextPid++;
    const exited = new Promise<Exit>((resolve) => this.ends.set(pid, resolve));
    return Promise.resolve({ id: String(pid), pid, pidStart: 1, exited });
  }

  stop(running: RunningService): Promise<void> {
    this.ends.get(running.pid)?.({ code: null, signal: "SIGTERM" });
    return running.exited.then(() => undefined);
  }

  pause(): void {}
  resume(): void {}
  exec(): Promise<number> {
    return Promise.resolve(0);
  }
  inspect(): { alive: boolean } {
    return { alive: true };
  }
  cleanup(): undefined {
    return undefined;
  }
  visiblePath(mount: ResolvedMount): string {
    return mount.hostPath;
  }
}
