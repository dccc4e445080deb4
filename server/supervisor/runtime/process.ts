import { spawn, type ChildProcess } from "node:child_process";
import { isAbsolute } from "node:path";
import type { ServicePlan } from "../plan";
import { findOnPath, isDirectory, isExecutable } from "../../executables";
import { groupMembers, processStart, signalQuietly } from "../../proc";
import { heldByGroup } from "../ports";
import { DomainError } from "../../errors";
import { supervisorError } from "../reasons";
import {
  cannotRun,
  type Cancellable,
  type ExecOptions,
  type Exit,
  type OutputSink,
  type Prepared,
  type ResolvedMount,
  type RunningTask,
  type RuntimeDriver,
  type ServiceContext,
  type ServiceProblem,
  type StopOptions,
  type TaskHandle,
  type TaskInfo,
} from "./driver";
import { graceRunsOut } from "./grace";
import { TaskRecords } from "./process-tasks";
import type { Pod } from "./sandbox/pod";
import { serviceIdentity, type ServiceIdentity } from "./sandbox/identity";
import { findSandboxTools, Sandbox, sandboxWorks } from "./sandbox/sandbox";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ProcessRuntimeOptions {
  /** Run services in bubblewrap when it is installed (the default), or never. */
  readonly sandbox: "auto" | "off";
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Where the runtime records the tasks it starts, so the next daemon finds what this one left
   * (under GHOSTD_HOME); without it, only this daemon's own tasks are listed.
   */
  readonly taskDir?: string;
  /** The uid (and gid) services run as when the daemon is root. */
  readonly serviceUid?: number;
  /**
   * Why image services cannot run in containers on this daemon (no engine answers, or
   * `--runtime process`), told to those that come to the process runtime; unset when they do not.
   */
  readonly withoutContainers?: string;
  /**
   * Whether image services may run their command here: only when the user chose processes
   * (`--runtime process`). With `auto` and no engine, an image is what such a service needs, so
   * running its command on the host instead would silently be another app: it cannot start.
   */
  readonly imagesAsProcesses?: boolean;
}

/** A task this daemon started. */
interface LiveTask {
  readonly namespace: string;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  /** Settles once the task has exited and its record is gone. */
  readonly forgotten: Promise<void>;
}

/**
 * The process runtime: a service's entrypoint + command as a process group on this machine. With
 * bubblewrap, inside a sandbox (see Sandbox): the system's directories read-only, the project's
 * volumes and files bound at their targets, private /tmp, PIDs and network shared with the
 * project's other services, as an unprivileged user; without it, a plain child process.
 * A task is its process group, named `<pid>@<start time>` so a later process given the same pid
 * is never taken for it.
 */
export class ProcessRuntime implements RuntimeDriver {
  readonly name = "process";
  readonly sandbox: Sandbox | undefined;
  readonly identity: ServiceIdentity;
  private readonly tasks = new Map<string, LiveTask>();
  private readonly records: TaskRecords;
  /** Namespaces of tasks `list` found that an earlier daemon started, so `remove` drops their records. */
  private readonly found = new Map<string, string>();

  constructor(private readonly options: ProcessRuntimeOptions) {
    this.identity = serviceIdentity(options.serviceUid);
    const tools = options.sandbox === "auto" ? findSandboxTools(options.env.PATH ?? DEFAULT_PATH) : undefined;
    this.sandbox = tools && sandboxWorks(tools, this.identity) ? new Sandbox(tools, this.identity) : undefined;
    this.records = new TaskRecords(options.taskDir);
  }

  problems(services: readonly ServicePlan[]): ServiceProblem[] {
    return services.flatMap((service) => {
      const problem = this.problemOf(service);
      return problem === undefined ? [] : [{ service: service.name, ...problem }];
    });
  }

  prepare(services: readonly ServicePlan[]): Promise<Prepared> {
    const problems = this.problems(services);
    const refused = problems.filter((p) => p.kind === "runtime");
    if (refused.length > 0) return Promise.reject(cannotRun(this.name, refused));
    const warnings = problems.map((p) => `${p.service}: ${p.problem}; StartProject fails until then`);
    const unsandboxed = this.unsandboxed();
    if (unsandboxed) warnings.push(unsandboxed);
    for (const service of services.filter((s) => !problems.some((p) => p.service === s.name))) {
      if (service.image) warnings.push(`${service.name}: image ${service.image} is ignored by the process runtime, which runs the service's command${withoutContainers(this.options)}`);
      if (service.build) warnings.push(`${service.name}: build is not done by the process runtime, which runs the service's command`);
      if (service.user !== undefined) warnings.push(`${service.name}: user ${service.user} is ignored; the service runs as ghostd's user`);
    }
    return Promise.resolve({ imagesPulled: [], warnings });
  }

  async start(context: ServiceContext, output: OutputSink, options: Cancellable = {}): Promise<RunningTask> {
    options.signal?.throwIfAborted();
    const argv = [...context.service.entrypoint, ...context.service.command];
    if (this.refusesToRun()) throw supervisorError("START_FAILED", `${context.service.name}: ${this.unsandboxed() ?? ""}`);
    const pod = await this.sandbox?.enter(context);
    let child: ChildProcess;
    try {
      child = this.spawn(context, argv, pod);
    } catch (err) {
      await this.sandbox?.leave(context.namespace);
      throw err instanceof DomainError ? err : supervisorError("START_FAILED", `${context.service.name}: cannot run ${argv[0] ?? ""}: ${(err as Error).message}`);
    }
    child.stdout?.on("data", (chunk: Buffer) => output("stdout", chunk));
    child.stderr?.on("data", (chunk: Buffer) => output("stderr", chunk));
    const exited = new Promise<Exit>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
    const pid = await spawned(child, `${context.service.name}: cannot run ${argv[0] ?? ""}`, options.signal);
    const id = `${pid}@${processStart(pid)}`;
    const recorded = this.records.add(context.namespace, { id, service: context.service.name });
    // Forgotten only once recorded too: a task that exits at once must not leave its record behind.
    const forgotten = Promise.all([exited, recorded.catch(() => undefined)]).then(async () => {
      await this.sandbox?.leave(context.namespace);
      await this.forget(context.namespace, id);
    });
    this.tasks.set(id, { namespace: context.namespace, pid, exited, forgotten });
    try {
      await recorded;
    } catch (err) {
      signalQuietly(-pid, "SIGKILL");
      await forgotten;
      throw supervisorError("START_FAILED", `${context.service.name}: cannot record its process: ${(err as Error).message}`);
    }
    return { handle: { driver: this.name, id }, exited };
  }

  async stop(handle: TaskHandle, options: StopOptions): Promise<void> {
    const task = this.tasks.get(handle.id);
    if (!task) {
      await this.remove(handle);
      return;
    }
    if (this.sandbox) {
      // bubblewrap itself would die of SIGTERM and take the sandbox down with SIGKILL: the stop
      // signal goes to what runs inside (its PID 1 ignores it, as a namespace init does).
      for (const member of groupMembers(task.pid)) if (member.pid !== task.pid) signalQuietly(member.pid, options.stopSignal);
    } else {
      signalQuietly(-task.pid, options.stopSignal);
    }
    if (await graceRunsOut(task.exited, options.graceMs, options.signal)) signalQuietly(-task.pid, "SIGKILL");
    await task.exited;
    // What the service started in its group and left behind goes too: no orphans.
    if (groupMembers(task.pid).length > 0) signalQuietly(-task.pid, "SIGKILL");
    await task.forgotten;
  }

  pause(handle: TaskHandle): Promise<void> {
    signalQuietly(-pidOf(handle), "SIGSTOP");
    return Promise.resolve();
  }

  resume(handle: TaskHandle): Promise<void> {
    signalQuietly(-pidOf(handle), "SIGCONT");
    return Promise.resolve();
  }

  async exec(context: ServiceContext, argv: readonly string[], options: ExecOptions): Promise<number> {
    options.signal?.throwIfAborted();
    if (this.refusesToRun()) return 127;
    const pod = await this.sandbox?.enter(context);
    try {
      return await this.execIn(context, argv, options, pod);
    } finally {
      await this.sandbox?.leave(context.namespace);
    }
  }

  private execIn(context: ServiceContext, argv: readonly string[], options: ExecOptions, pod: Pod | undefined): Promise<number> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const child = this.spawn(context, argv, pod);
    const output = options.output ?? (() => undefined);
    child.stdout?.on("data", (chunk: Buffer) => output("stdout", chunk));
    child.stderr?.on("data", (chunk: Buffer) => output("stderr", chunk));
    const kill = (): void => signalQuietly(-(child.pid ?? 0), "SIGKILL");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(kill, options.timeoutMs);
      const abort = (): void => {
        kill();
        reject(signal?.reason as Error);
      };
      signal?.addEventListener("abort", abort, { once: true });
      const settle = (code: number): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", abort);
        resolve(code);
      };
      child.once("error", () => settle(127));
      child.once("close", (code) => settle(code ?? 128));
    });
  }

  state(handle: TaskHandle): Promise<{ alive: boolean }> {
    const { pid, start } = parseId(handle.id);
    return Promise.resolve({ alive: start !== 0 && processStart(pid) === start });
  }

  async list(namespace: string, options: Cancellable = {}): Promise<TaskInfo[]> {
    options.signal?.throwIfAborted();
    const tasks: TaskInfo[] = [];
    for (const record of await this.records.list(namespace)) {
      if (isThere(record.id)) {
        if (!this.tasks.has(record.id)) this.found.set(record.id, namespace);
        tasks.push({ handle: { driver: this.name, id: record.id }, service: record.service });
      } else if (!this.tasks.has(record.id)) {
        // Gone since it was recorded (the daemon died before it could forget it).
        await this.records.delete(namespace, record.id);
      }
    }
    return tasks;
  }

  async remove(handle: TaskHandle): Promise<string | undefined> {
    const pid = pidOf(handle);
    const there = isThere(handle.id);
    if (there) signalQuietly(-pid, "SIGKILL");
    const task = this.tasks.get(handle.id);
    const namespace = this.found.get(handle.id);
    this.found.delete(handle.id);
    if (task) await task.forgotten;
    else if (namespace !== undefined) await this.records.delete(namespace, handle.id);
    return there ? `process group ${pid}` : undefined;
  }

  holdsPort(handle: TaskHandle, port: number, protocol: "tcp" | "udp"): Promise<boolean> {
    const task = this.tasks.get(handle.id);
    if (task && this.sandbox?.publishes(task.namespace, { hostPort: port, protocol })) return Promise.resolve(true);
    return Promise.resolve(heldByGroup(port, protocol, pidOf(handle)));
  }

  visiblePath(mount: ResolvedMount): string {
    return this.sandbox ? mount.target : mount.hostPath;
  }

  displayId(handle: TaskHandle): string {
    return String(pidOf(handle));
  }

  private forget(namespace: string, id: string): Promise<void> {
    this.tasks.delete(id);
    return this.records.delete(namespace, id);
  }

  /** The process runtime runs a command: without one, or with a program this machine lacks, nothing runs. */
  private problemOf(service: ServicePlan): Omit<ServiceProblem, "service"> | undefined {
    const program = [...service.entrypoint, ...service.command][0];
    if (this.options.imagesAsProcesses === false && (service.image !== undefined || service.build === true)) return { problem: needsEngineNow(service, withoutContainers(this.options), program !== undefined), kind: "engine" };
    const needsEngine = service.image !== undefined ? "engine" : "runtime";
    if (program === undefined) return { problem: withoutCommand(service, withoutContainers(this.options)), kind: needsEngine };
    // No program's name begins with a dash: such a command is arguments to an image's entrypoint, not a missing executable.
    if (service.entrypoint.length === 0 && program.startsWith("-")) return { problem: argumentsOnly(service, program, withoutContainers(this.options)), kind: needsEngine };
    // A program given by a path relative to the package, or with ${VAR} in it, is found at start.
    if (program.includes("$") || program.startsWith(".") || (program.includes("/") && !isAbsolute(program))) return undefined;
    const path = service.environment.PATH ?? this.options.env.PATH ?? DEFAULT_PATH;
    const found = program.includes("/") ? isExecutable(program) : findOnPath(program, path) !== undefined;
    if (found) return undefined;
    return { problem: `the executable "${program}" does not exist on this machine${program.includes("/") ? "" : ` (PATH ${path})`}; install it, or change the service's command`, kind: "executable" };
  }

  /** Why services run unconfined here, if they do. */
  private unsandboxed(): string | undefined {
    if (this.sandbox) return undefined;
    if (this.options.sandbox === "off") return `the sandbox is off (--sandbox off): services run as plain processes${this.identity.dropsRoot ? " as root" : ""}, with the host's network and files`;
    const missing = "bubblewrap (bwrap), util-linux's unshare and nsenter, and user namespaces for the services' user are needed";
    if (this.identity.dropsRoot) return `the sandbox cannot be made here (${missing}): ghostd runs as root and will not run services unconfined; install bubblewrap, or pass --sandbox off`;
    return `bubblewrap (bwrap) is not installed or cannot work here (${missing}): services run as plain processes, and their mounts are not at their targets (see GHOSTD_MOUNT_* variables)`;
  }

  /** A root daemon runs nothing of a project's unconfined unless told to with --sandbox off. */
  private refusesToRun(): boolean {
    return !this.sandbox && this.options.sandbox === "auto" && this.identity.dropsRoot;
  }

  private spawn(context: ServiceContext, argv: readonly string[], pod: Pod | undefined): ChildProcess {
    const env = { ...context.env };
    const cwd = this.workingDirectory(context);
    // spawn would blame the program (ENOENT) for a package directory that is gone. (A working_dir
    // other than the package is one that exists, or a mount target inside the sandbox.)
    if (cwd === context.packagePath && !isDirectory(cwd)) throw supervisorError("START_FAILED", `${context.service.name}: its working directory ${cwd} does not exist (was the package moved or deleted?)`);
    if (!this.sandbox || !pod) {
      const [file = "", ...args] = argv;
      return spawn(file, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    }
    // Nothing of the host's home is in the sandbox; programs that write to HOME get the private /tmp.
    env.HOME = "/tmp";
    const launch = this.sandbox.launch(pod, context, cwd, argv);
    const child = spawn(launch.file, launch.args, { cwd: "/", env, detached: true, stdio: launch.fds.stdio(["ignore", "pipe", "pipe"]) });
    launch.fds.feed(child);
    return child;
  }

  /** working_dir when it exists (or is a mount target in the sandbox), else the package. */
  private workingDirectory(context: ServiceContext): string {
    const wanted = context.service.workingDir;
    if (wanted === undefined) return context.packagePath;
    const mounted = context.mounts.some((m) => m.target === wanted);
    if (this.sandbox ? mounted || isDirectory(wanted) : isDirectory(wanted)) return wanted;
    return context.packagePath;
  }
}

/** The pid of a spawned child; a child that cannot run is START_FAILED, one aborted before it ran is killed. */
function spawned(child: ChildProcess, cannot: string, signal: AbortSignal | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      if (child.pid !== undefined) signalQuietly(-child.pid, "SIGKILL");
      reject(signal?.reason as Error);
    };
    signal?.addEventListener("abort", abort, { once: true });
    child.once("error", (err) => {
      signal?.removeEventListener("abort", abort);
      reject(supervisorError("START_FAILED", `${cannot}: ${err.message}`));
    });
    child.once("spawn", () => {
      signal?.removeEventListener("abort", abort);
      resolve(child.pid ?? 0);
    });
  });
}

function parseId(id: string): { pid: number; start: number } {
  const match = /^(\d+)@(\d+)$/.exec(id);
  if (!match) throw new Error(`not a process task: ${JSON.stringify(id)}`);
  return { pid: Number(match[1]), start: Number(match[2]) };
}

function pidOf(handle: TaskHandle): number {
  return parseId(handle.id).pid;
}

/**
 * Whether anything of the task runs: its leader, the very process (same start time, so not a
 * later one given its pid), or, the leader gone, members of its group, which the kernel keeps
 * its pid from being reused for.
 */
function isThere(id: string): boolean {
  const { pid, start } = parseId(id);
  const now = processStart(pid);
  if (start !== 0 && now === start) return true;
  return now === 0 && groupMembers(pid).length > 0;
}

/** Why a service whose command is only arguments (`--flag=value`) cannot run as a process. */
function argumentsOnly(service: ServicePlan, first: string, why: string): string {
  const of = service.image ? `the entrypoint of image ${service.image}, which needs a container runtime, and only the process runtime is here${why}` : "an entrypoint, and the service has none";
  return `the command (${first} ...) holds arguments for ${of}; give the service an entrypoint naming the program to run as a process`;
}

/** Why an image is not run in a container here, as the end of a sentence. */
function withoutContainers(options: ProcessRuntimeOptions): string {
  return options.withoutContainers === undefined ? "" : ` (no container runtime: ${options.withoutContainers})`;
}

/** Why an image service cannot run with no engine to run its image (`auto`), and what to do. */
function needsEngineNow(service: ServicePlan, why: string, hasCommand: boolean): string {
  const what = service.image === undefined ? "its build" : `image ${service.image}`;
  const instead = hasCommand ? "; or run ghostd with --runtime process to run its command as a process instead" : "";
  return `${what} needs a container engine${why}${instead}`;
}

/** Why a service without a command cannot run as a process, by what it has instead. */
function withoutCommand(service: ServicePlan, why: string): string {
  const instead = "give the service a command (or entrypoint) to run as a process";
  if (service.image) return `image ${service.image} needs a container runtime, and only the process runtime is here${why}; ${instead}`;
  if (service.build) return `build: images are not built here; ${instead}, or a prebuilt image for a container runtime`;
  return `the service has no command; ${instead}`;
}
