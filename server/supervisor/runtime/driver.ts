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
  /** The project's namespace: what `list` later finds the service's task under. */
  readonly namespace: string;
  readonly packagePath: string;
  readonly service: ServicePlan;
  /** The final environment: the plan's, interpolated, with ports and secrets. */
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: readonly ResolvedMount[];
  readonly network: ProjectNetwork;
}

/**
 * The network a project's services share: they reach each other by service name, the host
 * reaches them through its published ports, and they reach beyond this machine only with the
 * manifest's `security.network: true`.
 */
export interface ProjectNetwork {
  readonly services: readonly string[];
  /** Every service's host ports, with the service and its port inside, for a runtime that publishes them. */
  readonly ports: readonly ProjectPort[];
  readonly egress: boolean;
}

export interface ProjectPort {
  readonly hostPort: number;
  readonly protocol: "tcp" | "udp";
  readonly service: string;
  readonly containerPort: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

/**
 * A task as its runtime names it, which is all the registry keeps of a running service: the
 * driver's name and the runtime's own id (`<pid>@<start time>` for the process runtime, the
 * engine's container id for a container runtime).
 */
export interface TaskHandle {
  readonly driver: string;
  readonly id: string;
}

/** A task the driver started in this daemon: its handle, and how it ends. */
export interface RunningTask {
  readonly handle: TaskHandle;
  readonly exited: Promise<Exit>;
}

/** A task an earlier daemon started, taken over by this one: also when it started. */
export interface AdoptedTask extends RunningTask {
  readonly startedAt: Date;
}

/** A task `list` found in a namespace, started by this daemon or by an earlier one. */
export interface TaskInfo {
  readonly handle: TaskHandle;
  /** The service it runs, when the runtime recorded it. */
  readonly service: string | undefined;
}

/**
 * Why one service cannot run on a runtime, and what to do about it. `executable`: its program is
 * missing, so a start would fail; `engine`: it needs a container engine, and none is in use, so a
 * start would fail too (an engine may be there by then); `runtime`: it needs what the runtime
 * does not do (a build, a runtime this daemon lacks), so nothing can be prepared.
 */
export interface ServiceProblem {
  readonly service: string;
  readonly problem: string;
  readonly kind: "executable" | "engine" | "runtime";
}

export interface Prepared {
  readonly imagesPulled: string[];
  readonly warnings: string[];
}

/** Where waiting is involved, the caller may give up: the driver then ends what it started for the call. */
export interface Cancellable {
  readonly signal?: AbortSignal;
}

export interface PrepareOptions extends Cancellable {
  /** A line for a service's log while it is prepared (an image's pull progress). */
  readonly note?: (service: string, text: string) => void;
  /** The project prepared, for what is built from its package. */
  readonly project?: { readonly projectId: string; readonly namespace: string; readonly packagePath: string };
}

export interface StopOptions extends Cancellable {
  /** Sent first; the task's own stop signal (SIGTERM unless its plan says otherwise). */
  readonly stopSignal: string;
  /** How long the task has to end before it is killed; an abort of `signal` cuts it short. */
  readonly graceMs: number;
}

export interface ExecOptions extends Cancellable {
  readonly timeoutMs: number;
  /** Where the command's stdout and stderr go, as they come (a dump streamed to a file); without it they are dropped. */
  readonly output?: OutputSink;
}

export type OutputSink = (stream: "stdout" | "stderr", chunk: Buffer) => void;

/**
 * A runtime, as containerd's PlatformRuntime and Task see one: how services are made to run, each
 * a task in its project's namespace, named by a handle the runtime issues. The supervisor talks
 * only to this interface, and picks a driver per service by name (RuntimeRegistry), so a container
 * driver (Docker Engine API) is one more registered driver beside the process runtime.
 */
export interface RuntimeDriver {
  readonly name: string;
  /**
   * What keeps each service from running on this runtime, one entry per service that cannot;
   * the only judge of that, so ValidateCompose warns of what OpenProject would refuse.
   * Synchronous on purpose: it judges a plan, not the runtime's state, and ValidateCompose has
   * no project and nothing to wait for.
   */
  problems(services: readonly ServicePlan[]): ServiceProblem[];
  /**
   * Fails with `cannotRun` when a service needs what this runtime does not do, then fetches what
   * they need (images); a missing program is only a warning here, since StartProject fails on it.
   */
  prepare(services: readonly ServicePlan[], options?: PrepareOptions): Promise<Prepared>;
  /** Resolves once the task runs (an abort before then ends it and rejects). */
  start(context: ServiceContext, output: OutputSink, options?: Cancellable): Promise<RunningTask>;
  /**
   * Takes over a task an earlier daemon started that still runs (after a restart or a kill -9 of
   * the daemon), if it runs just as `context` would start it now; undefined if not, and it is
   * then removed as a leftover and started afresh. Output it wrote after `since` (what the log
   * book has of it so far) goes to `output`. A runtime whose tasks cannot outlive the daemon's
   * hold on them has none.
   */
  adopt?(handle: TaskHandle, context: ServiceContext, output: OutputSink, since: Date | undefined): Promise<AdoptedTask | undefined>;
  /** Sends the stop signal, then kills after the grace; resolves when nothing of the task runs. */
  stop(handle: TaskHandle, options: StopOptions): Promise<void>;
  pause(handle: TaskHandle): Promise<void>;
  resume(handle: TaskHandle): Promise<void>;
  /** Runs a command beside the task (healthchecks, a snapshot's pg_dump); resolves with its exit code. */
  exec(context: ServiceContext, argv: readonly string[], options: ExecOptions): Promise<number>;
  state(handle: TaskHandle): Promise<{ readonly alive: boolean }>;
  /** What of a namespace is really there on this runtime, whatever the registry says. */
  list(namespace: string, options?: Cancellable): Promise<TaskInfo[]>;
  /** Ends a task and forgets it, whoever started it; says what it removed, if anything was left. */
  remove(handle: TaskHandle): Promise<string | undefined>;
  /**
   * Removes what the runtime keeps for a namespace beside its tasks (a container runtime's
   * network), once they are gone; says what it removed. Runtimes that keep nothing have none.
   */
  removeNamespace?(namespace: string): Promise<string[]>;
  /** Whether the task holds a host port (listens on it, or has it bound for UDP). */
  holdsPort(handle: TaskHandle, port: number, protocol: "tcp" | "udp"): Promise<boolean>;
  /** Where the service sees a mount: its target in a sandbox, else the host path itself. Pure mapping. */
  visiblePath(mount: ResolvedMount): string;
  /** The handle as users are shown it (ServiceStatus.container_id): the pid for processes. Pure mapping. */
  displayId(handle: TaskHandle): string;
}

/**
 * The variable that tells a service where a mount is: `GHOSTD_MOUNT_DATA` for /data,
 * `GHOSTD_MOUNT_VAR_LIB_APP` for /var/lib/app.
 */
export function mountVariable(target: string): string {
  return `GHOSTD_MOUNT_${target.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "_").toUpperCase()}`;
}

/**
 * IMAGE_PULL_FAILED naming every service the runtime cannot prepare, so one OpenProject tells
 * all to fix: it is OpenProject's only reason (seed 002) for a plan it cannot prepare.
 */
export function cannotRun(runtime: string, problems: readonly ServiceProblem[]): Error {
  const count = `${problems.length} service${problems.length === 1 ? "" : "s"}`;
  return supervisorError("IMAGE_PULL_FAILED", `${count} cannot run on the ${runtime} runtime: ${problems.map((p) => `${p.service}: ${p.problem}`).join("; ")}`, {
    services: problems.map((p) => p.service).join(","),
  });
}

/**
 * START_FAILED naming every service whose program is missing: a failure to start, never to pull,
 * so StartProject tells it (before anything starts) and OpenProject only warns of it.
 */
export function cannotStart(problems: readonly ServiceProblem[]): Error {
  return supervisorError("START_FAILED", problems.map((p) => `${p.service}: ${p.problem}`).join("; "), { services: problems.map((p) => p.service).join(",") });
}
