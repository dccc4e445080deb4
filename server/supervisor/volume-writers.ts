import { closeSync, openSync, writeSync } from "node:fs";
import type { ProjectRun } from "./project-run";
import type { TaskHandle } from "./runtime/driver";
import type { RuntimeRegistry } from "./runtime/runtimes";
import type { ServiceInstance } from "./service-instance";
import type { DumpResult, DumpSpec, Writers } from "./snapshots/consistency";

/** How much of a dump's stderr is kept to tell why it failed: its last lines, not all it wrote. */
const STDERR_TAIL_BYTES = 4096;

/**
 * The services of a running project that write a volume, paused through their runtime's driver
 * (SIGSTOP of the process group, or the engine's pause) so a snapshot reads the volume as of
 * one moment, and asked for a dump of what they serve from it; a project that is not running has none.
 */
export function writersOf(run: ProjectRun | undefined, runtimes: RuntimeRegistry): Writers {
  return {
    pause: async (volume) => {
      if (!run) return { services: [], resume: () => Promise.resolve() };
      const writing = new Set(writingServices(run, volume).map((s) => s.name));
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
    dump: async (volume, spec) => {
      let result: DumpResult | undefined;
      // The first writer that has the program answers; one without it (127) leaves it to the next.
      for (const service of run ? writingServices(run, volume) : []) {
        result = (await dumpIn(service, spec)) ?? result;
        if (result && result.exitCode !== 127) break;
      }
      return result;
    },
  };
}

/** The project's services that mount `volume` writable, in plan order. */
function writingServices(run: ProjectRun, volume: string): ServiceInstance[] {
  return [...run.services.values()].filter((s) => s.plan.mounts.some((m) => m.kind === "volume" && m.source === volume && !m.readOnly));
}

/**
 * Runs the dump command beside the service's task, its stdout written to `spec.into` as it comes.
 * Written synchronously, chunk by chunk: the pipe is not read while a chunk is written, so a dump
 * larger than memory never waits in it. A write that fails (a full disk) ends the command and the dump.
 * Undefined when the service does not run.
 */
async function dumpIn(service: ServiceInstance, spec: DumpSpec): Promise<DumpResult | undefined> {
  const fd = openSync(spec.into, "w", 0o600);
  const stopped = new AbortController();
  let stderr: Buffer = Buffer.alloc(0);
  const began = Date.now();
  try {
    const running = service.exec(spec.argv, {
      timeoutMs: spec.timeoutMs,
      signal: stopped.signal,
      output: (stream, chunk) => {
        if (stream === "stderr") stderr = tail(Buffer.concat([stderr, chunk]));
        else if (!stopped.signal.aborted) writeAll(fd, chunk, stopped);
      },
    });
    if (!running) return undefined;
    const exitCode = await running;
    const timedOut = exitCode !== 0 && Date.now() - began >= spec.timeoutMs;
    const stderrTail = `${stderr.toString("utf8").trim()}${timedOut ? ` (ended: it ran past its limit of ${spec.timeoutMs / 1000} s)` : ""}`;
    return { service: service.name, exitCode, stderrTail };
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, chunk: Buffer, stopped: AbortController): void {
  try {
    for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
  } catch (err) {
    stopped.abort(new Error(`the dump could not be written: ${(err as Error).message}`));
  }
}

function tail(buffer: Buffer): Buffer {
  return buffer.length > STDERR_TAIL_BYTES ? buffer.subarray(buffer.length - STDERR_TAIL_BYTES) : buffer;
}
