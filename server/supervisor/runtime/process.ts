import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { ServicePlan } from "../plan";
import { findOnPath, isExecutable } from "../../executables";
import { groupMembers, processStart, signalQuietly } from "../../proc";
import { supervisorError } from "../reasons";
import { cannotRun, type Exit, type ResolvedMount, type RunningService, type RuntimeDriver, type ServiceContext, type ServiceProblem, type ServiceRecord } from "./driver";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}


export interface ProcessRuntimeOptions {
  /** Run services in bubblewrap when it is installed (the default), or never. */
  readonly sandbox: "auto" | "off";
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The process runtime: a service's entrypoint + command as a process group on this machine. With
 * bubblewrap, inside a sandbox: the host file system read-only, the project's volumes and files
 * bound at their targets, a private /tmp and PID namespace; without it, a plain child process.
 */
export class ProcessRuntime implements RuntimeDriver {
  readonly name = "process";
  readonly bwrap: string | undefined;

  constructor(private readonly options: ProcessRuntimeOptions) {
    const bwrap = options.sandbox === "auto" ? findOnPath("bwrap", options.env.PATH ?? DEFAULT_PATH) : undefined;
    // Installed is not enough: a machine without user namespaces cannot make a sandbox.
    this.bwrap = bwrap && sandboxWorks(bwrap) ? bwrap : undefined;
  }

  problems(services: readonly ServicePlan[]): ServiceProblem[] {
    return services.flatMap((service) => {
      const problem = this.problemOf(service);
      return problem === undefined ? [] : [{ service: service.name, problem }];
    });
  }

  prepare(services: readonly ServicePlan[]): Promise<{ imagesPulled: string[]; warnings: string[] }> {
    const problems = this.problems(services);
    if (problems.length > 0) return Promise.reject(cannotRun(this.name, problems));
    const warnings: string[] = [];
    if (!this.bwrap) warnings.push("bubblewrap (bwrap) is not installed: services run as plain processes, and their mounts are not at their targets (see GHOSTD_MOUNT_* variables)");
    for (const service of services) {
      if (service.image) warnings.push(`${service.name}: image ${service.image} is ignored by the process runtime, which runs the service's command`);
      if (service.build) warnings.push(`${service.name}: build is not done by the process runtime, which runs the service's command`);
      if (service.user !== undefined) warnings.push(`${service.name}: user ${service.user} is ignored; the service runs as ghostd's user`);
    }
    return Promise.resolve({ imagesPulled: [], warnings });
  }

  start(context: ServiceContext, output: (stream: "stdout" | "stderr", chunk: Buffer) => void): Promise<RunningService> {
    const argv = [...context.service.entrypoint, ...context.service.command];
    const child = this.spawn(context, argv);
    child.stdout?.on("data", (chunk: Buffer) => output("stdout", chunk));
    child.stderr?.on("data", (chunk: Buffer) => output("stderr", chunk));
    const exited = new Promise<Exit>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
    return new Promise((resolve, reject) => {
      child.once("error", (err) => reject(supervisorError("START_FAILED", `${context.service.name}: cannot run ${argv[0] ?? ""}: ${err.message}`)));
      child.once("spawn", () => {
        const pid = child.pid ?? 0;
        resolve({ id: String(pid), pid, pidStart: processStart(pid), exited });
      });
    });
  }

  async stop(running: RunningService, signal: string, graceMs: number): Promise<void> {
    if (this.bwrap) {
      // bubblewrap itself would die of SIGTERM and take the sandbox down with SIGKILL: the stop
      // signal goes to what runs inside (its PID 1 ignores it, as a namespace init does).
      for (const member of groupMembers(running.pid)) if (member.pid !== running.pid) signalQuietly(member.pid, signal);
    } else {
      signalQuietly(-running.pid, signal);
    }
    let timer: NodeJS.Timeout | undefined;
    const graceOver = await Promise.race([running.exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
    clearTimeout(timer);
    if (graceOver) signalQuietly(-running.pid, "SIGKILL");
    await running.exited;
    // What the service started in its group and left behind goes too: no orphans.
    if (groupAlive(running.pid)) signalQuietly(-running.pid, "SIGKILL");
  }

  pause(running: RunningService): void {
    signalQuietly(-running.pid, "SIGSTOP");
  }

  resume(running: RunningService): void {
    signalQuietly(-running.pid, "SIGCONT");
  }

  exec(context: ServiceContext, argv: readonly string[], timeoutMs: number): Promise<number> {
    const child = this.spawn(context, argv);
    child.stdout?.resume();
    child.stderr?.resume();
    return new Promise((resolve) => {
      const timer = setTimeout(() => signalQuietly(-(child.pid ?? 0), "SIGKILL"), timeoutMs);
      child.once("error", () => {
        clearTimeout(timer);
        resolve(127);
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve(code ?? 128);
      });
    });
  }

  inspect(running: RunningService): { alive: boolean } {
    return { alive: processStart(running.pid) === running.pidStart && running.pidStart !== 0 };
  }

  cleanup(record: ServiceRecord): string | undefined {
    if (record.pid <= 0 || processStart(record.pid) !== record.pidStart) return undefined;
    signalQuietly(-record.pid, "SIGKILL");
    return `process group ${record.pid}`;
  }

  visiblePath(mount: ResolvedMount): string {
    return this.bwrap ? mount.target : mount.hostPath;
  }

  /** The process runtime runs a command: without one, or with a program this machine lacks, nothing runs. */
  private problemOf(service: ServicePlan): string | undefined {
    const program = [...service.entrypoint, ...service.command][0];
    if (program === undefined) return withoutCommand(service);
    // A program given by a path relative to the package, or with ${VAR} in it, is found at start.
    if (program.includes("$") || program.startsWith(".") || (program.includes("/") && !isAbsolute(program))) return undefined;
    const path = service.environment.PATH ?? this.options.env.PATH ?? DEFAULT_PATH;
    const found = program.includes("/") ? isExecutable(program) : findOnPath(program, path) !== undefined;
    if (found) return undefined;
    return `the executable "${program}" does not exist on this machine${program.includes("/") ? "" : ` (PATH ${path})`}; install it, or change the service's command`;
  }

  private spawn(context: ServiceContext, argv: readonly string[]): ChildProcess {
    const env = { ...context.env };
    const cwd = this.workingDirectory(context);
    if (!this.bwrap) {
      const [file = "", ...args] = argv;
      return spawn(file, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    }
    // The host home is read-only in the sandbox; programs that write to HOME get the private /tmp.
    env.HOME = "/tmp";
    return spawn(this.bwrap, [...sandboxArguments(context, cwd), "--", ...argv], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  }

  /** working_dir when it exists (or is a mount target in the sandbox), else the package. */
  private workingDirectory(context: ServiceContext): string {
    const wanted = context.service.workingDir;
    if (wanted === undefined) return context.packagePath;
    const mounted = context.mounts.some((m) => m.target === wanted);
    if (this.bwrap ? mounted || isDirectory(wanted) : isDirectory(wanted)) return wanted;
    return context.packagePath;
  }
}

/** Why a service without a command cannot run as a process, by what it has instead. */
function withoutCommand(service: ServicePlan): string {
  const instead = "give the service a command (or entrypoint) to run as a process";
  if (service.image) return `image ${service.image} needs a container runtime, and only the process runtime is here; ${instead}`;
  if (service.build) return `build: images are not built here; ${instead}, or a prebuilt image for a container runtime`;
  return `the service has no command; ${instead}`;
}

/**
 * bubblewrap's arguments: a fresh root holding the host's file system read-only, a private /tmp,
 * /proc and /dev, the package read-only at its own path (it may live under /tmp), the mounts,
 * and the working directory. The network is the host's: services serve their host ports.
 */
function sandboxArguments(context: ServiceContext, cwd: string): string[] {
  const args = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--tmpfs", "/"];
  args.push(...hostReadOnly(context.mounts.map((m) => m.target)));
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", context.packagePath, context.packagePath);
  for (const mount of context.mounts) {
    if (mount.kind === "tmpfs") args.push("--tmpfs", mount.target);
    else args.push(mount.readOnly ? "--ro-bind" : "--bind", mount.hostPath, mount.target);
  }
  args.push("--chdir", cwd);
  return args;
}

/**
 * Binds the host's file system read-only, entry by entry from the root. A directory on the way
 * to a mount target (/srv for /srv/files) is not bound whole, since nothing could be created in
 * it: it is made afresh and its own entries are bound, leaving room for the target.
 */
function hostReadOnly(targets: readonly string[]): string[] {
  const args: string[] = [];
  const wanted = new Set(targets);
  const onTheWay = new Set(targets.flatMap((target) => target.split("/").slice(1, -1).map((_, i, parts) => `/${parts.slice(0, i + 1).join("/")}`)));
  const expose = (dir: string): void => {
    for (const entry of readdirQuiet(dir)) {
      const path = dir === "/" ? `/${entry}` : `${dir}/${entry}`;
      if (dir === "/" && ["proc", "dev", "tmp", "lost+found"].includes(entry)) continue;
      if (wanted.has(path)) continue;
      const link = readLink(path);
      const info = link === undefined ? statQuiet(path) : undefined;
      if (link !== undefined) args.push("--symlink", link, path);
      else if (info?.isDirectory() && onTheWay.has(path)) {
        args.push("--dir", path);
        expose(path);
      } else if (info?.isDirectory() || info?.isFile()) args.push("--ro-bind", path, path);
    }
  };
  expose("/");
  return args;
}

function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function statQuiet(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether bubblewrap can make a sandbox here (it needs user or mount namespaces). */
export function sandboxWorks(bwrap: string): boolean {
  return spawnSync(bwrap, ["--ro-bind", "/", "/", "--unshare-pid", "--", "/bin/true"], { stdio: "ignore", timeout: 5000 }).status === 0;
}
