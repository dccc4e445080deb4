import type { ServicePlan } from "../plan";
import { supervisorError } from "../reasons";

/** A mount as a driver makes it: an absolute host path at a target inside the service. */
export interface ResolvedMount {
  readonly kind: "volume" | "files" | "tmpfs";
  readonly hostPath: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/** Everything a driver needs to run one service of one project. */
export interface ServiceContext {
  readonly projectId: string;
  readonly namespace: string;
  readonly packagePath: string;
  readonly service: ServicePlan;
  /** The final environment: the plan's, interpolated, with ports and secrets. */
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: readonly ResolvedMount[];
}

export interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

/**
 * A task as its runtime names it: the driver's name and the runtime's own id (`<pid>@<start
 * time>` for the process runtime, the engine's container id for a container runtime).
 */
export interface TaskHandle {
  readonly driver: string;
  readonly id: string;
}

/** A service the driver started. */
export interface RunningService {
  /** The driver's handle: a container id, or the process id for the process runtime. */
  readonly id: string;
  readonly pid: number;
  /** Its start time as the kernel counts it, to recognise it after a daemon restart. */
  readonly pidStart: number;
  readonly exited: Promise<Exit>;
}

/** Why one service cannot run on a runtime, and what to do about it. */
export interface ServiceProblem {
  readonly service: string;
  readonly problem: string;
}

/** What a previous daemon recorded of a service, to clean it up. */
export interface ServiceRecord {
  readonly pid: number;
  readonly pidStart: number;
}

/**
 * A runtime: how services are made to run. The supervisor talks only to this interface, so a
 * container driver (Docker Engine API) can sit beside the process runtime without changing it.
 */
export interface RuntimeDriver {
  readonly name: string;
  /**
   * What keeps each service from running on this runtime, one entry per service that cannot;
   * the only judge of that, so ValidateCompose warns of what OpenProject would refuse.
   */
  problems(services: readonly ServicePlan[]): ServiceProblem[];
  /** Fails with `cannotRun` unless every service can run here, then fetches what they need (images). */
  prepare(services: readonly ServicePlan[]): Promise<{ imagesPulled: string[]; warnings: string[] }>;
  start(context: ServiceContext, output: (stream: "stdout" | "stderr", chunk: Buffer) => void): Promise<RunningService>;
  /** Sends the stop signal, then kills after `graceMs`; resolves when nothing of it runs. */
  stop(running: RunningService, signal: string, graceMs: number): Promise<void>;
  pause(running: RunningService): void;
  resume(running: RunningService): void;
  /** Runs a command beside the service (healthchecks); resolves with its exit code. */
  exec(context: ServiceContext, argv: readonly string[], timeoutMs: number): Promise<number>;
  inspect(running: RunningService): { readonly alive: boolean };
  /** Removes what a previous daemon left of a service; says what it removed, if anything. */
  cleanup(record: ServiceRecord): string | undefined;
  /** Where the service sees a mount: its target in a sandbox, else the host path itself. */
  visiblePath(mount: ResolvedMount): string;
}

/**
 * The variable that tells a service where a mount is: `GHOSTD_MOUNT_DATA` for /data,
 * `GHOSTD_MOUNT_VAR_LIB_APP` for /var/lib/app.
 */
export function mountVariable(target: string): string {
  return `GHOSTD_MOUNT_${target.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "_").toUpperCase()}`;
}

/** IMAGE_PULL_FAILED naming every service that cannot run, so one OpenProject tells all to fix. */
export function cannotRun(runtime: string, problems: readonly ServiceProblem[]): Error {
  const count = `${problems.length} service${problems.length === 1 ? "" : "s"}`;
  return supervisorError("IMAGE_PULL_FAILED", `${count} cannot run on the ${runtime} runtime: ${problems.map((p) => `${p.service}: ${p.problem}`).join("; ")}`, {
    services: problems.map((p) => p.service).join(","),
  });
}
