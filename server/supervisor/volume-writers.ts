import type { ProjectRun } from "./project-run";
import type { TaskHandle } from "./runtime/driver";
import type { RuntimeRegistry } from "./runtime/runtimes";
import type { Writers } from "./snapshots/consistency";

/**
 * The services of a running project that write a volume, paused through their runtime's driver
 * (SIGSTOP of the process group, or the engine's pause) so a snapshot reads the volume as of
 * one moment; a project that is not running has none.
 */
export function writersOf(run: ProjectRun | undefined, runtimes: RuntimeRegistry): Writers {
  return {
    pause: async (volume) => {
      if (!run) return { services: [], resume: () => Promise.resolve() };
      const writing = new Set(run.plan.services.filter((s) => s.mounts.some((m) => m.kind === "volume" && m.source === volume && !m.readOnly)).map((s) => s.name));
      const tasks = run.tasks().filter((t) => writing.has(t.service));
      const paused: { service: string; handle: TaskHandle; release: () => void }[] = [];
      const resume = async (): Promise<void> => {
        for (const task of paused.splice(0).reverse()) {
          await runtimes.ofHandle(task.handle)?.resume(task.handle);
          task.release();
        }
      };
      try {
        for (const task of tasks) {
          // Its healthcheck cannot pass while it is stopped: no failure may count, or it would be restarted.
          const release = run.services.get(task.service)?.health?.suspend() ?? (() => undefined);
          await runtimes
            .ofHandle(task.handle)
            ?.pause(task.handle)
            .catch((err: unknown) => {
              release();
              throw err;
            });
          paused.push({ ...task, release });
        }
      } catch (err) {
        await resume();
        throw err;
      }
      return { services: paused.map((t) => t.service), resume };
    },
  };
}
