import { KeyedSerial } from "../serial";
import { supervisorError } from "./reasons";

/** How long start, stop and the like wait for a save of the same project before they give up. */
const SAVE_WAIT_MS = 120_000;

/**
 * One lifecycle operation at a time per project, in the order asked. While a save of the project
 * holds its lock, the others' wait is bounded: a long save ends theirs in SAVE_IN_PROGRESS
 * rather than an RPC hanging on it.
 */
export class ProjectLocks {
  private readonly serial = new KeyedSerial();

  constructor(private readonly isSaving: (projectId: string) => boolean) {}

  run<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    if (!this.isSaving(projectId)) return this.serial.run(projectId, fn);
    const signal = AbortSignal.timeout(SAVE_WAIT_MS);
    return this.serial.run(projectId, fn, signal).catch((err: unknown) => {
      if (signal.aborted && err === signal.reason) throw supervisorError("SAVE_IN_PROGRESS", `a snapshot of project ${projectId} was still being saved after ${SAVE_WAIT_MS / 1000} s; try again when it is done`);
      throw err;
    });
  }
}
