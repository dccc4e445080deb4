import { spawnSync } from "node:child_process";
import { findOnPath } from "../../../executables";
import type { ServiceContext } from "../driver";
import { ExtraFds } from "./extra-fds";
import { filesystemArguments } from "./filesystem";
import { giveToService, spawnAs, type ServiceIdentity } from "./identity";
import { Pod, type PodTools, type PublishedPort } from "./pod";
import { seccompProgram } from "./seccomp";

export interface SandboxTools extends PodTools {
  readonly bwrap: string;
  /** util-linux's setpriv: a root daemon's sandbox switches to the services' user with it. */
  readonly setpriv: string;
}

/** A command ready to spawn (by the daemon's own user): its program, arguments and the data it reads from extra fds. */
export interface Launch {
  readonly file: string;
  readonly args: string[];
  readonly fds: ExtraFds;
}

/** bubblewrap, and util-linux's unshare and nsenter; slirp4netns only matters to projects with egress. */
export function findSandboxTools(path: string): SandboxTools | undefined {
  const [bwrap, unshare, nsenter, setpriv] = ["bwrap", "unshare", "nsenter", "setpriv"].map((program) => findOnPath(program, path));
  if (!bwrap || !unshare || !nsenter || !setpriv) return undefined;
  return { bwrap, unshare, nsenter, setpriv, slirp4netns: findOnPath("slirp4netns", path) };
}

/** Installed is not enough: the services' user must be allowed user and network namespaces here. */
export function sandboxWorks(tools: SandboxTools, identity: ServiceIdentity): boolean {
  const run = (file: string, args: string[], as = spawnAs(identity)): boolean => spawnSync(file, args, { ...as, cwd: "/", stdio: "ignore", timeout: 5000 }).status === 0;
  const bwrap = identity.dropsRoot ? ["--unshare-pid", "--ro-bind", "/", "/", "--", "/bin/true"] : ["--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--", "/bin/true"];
  return run(tools.bwrap, bwrap, {}) && run(tools.unshare, ["--user", `--map-user=${identity.uid}`, `--map-group=${identity.gid}`, "--net", "--", "/bin/true"]);
}

/**
 * What the process runtime runs services in: per project a pod (its network namespace), per
 * service a bubblewrap sandbox joined to it, as the services' user, without capabilities, with
 * no_new_privs, no further user namespaces and the seccomp filter, seeing only the system's
 * read-only directories, its package and its mounts.
 */
export class Sandbox {
  private readonly pods = new Map<string, { readonly pod: Promise<Pod>; users: number; ready?: Pod }>();

  constructor(
    readonly tools: SandboxTools,
    readonly identity: ServiceIdentity,
  ) {}

  /** The namespace's pod for one more task (made by the first), its ports published; `leave` when the task is over. */
  async enter(context: ServiceContext): Promise<Pod> {
    let entry = this.pods.get(context.namespace);
    if (!entry) {
      entry = { pod: Pod.create({ identity: this.identity, tools: this.tools, egress: context.network.egress }), users: 0 };
      this.pods.set(context.namespace, entry);
      entry.pod.catch(() => this.pods.delete(context.namespace));
    }
    entry.users++;
    try {
      const pod = await entry.pod;
      entry.ready = pod;
      await pod.publish(context.network.ports);
      return pod;
    } catch (err) {
      await this.leave(context.namespace);
      throw err;
    }
  }

  /** Whether the namespace's pod holds a host port for its services (they hold it through the pod). */
  publishes(namespace: string, port: PublishedPort): boolean {
    return this.pods.get(namespace)?.ready?.publishes(port) ?? false;
  }

  /** The last task of a namespace gone, its pod goes: its ports close, its namespace with it. */
  async leave(namespace: string): Promise<void> {
    const entry = this.pods.get(namespace);
    if (!entry || --entry.users > 0) return;
    this.pods.delete(namespace);
    await entry.pod.then((pod) => pod.close(), () => undefined);
  }

  launch(pod: Pod, context: ServiceContext, cwd: string, argv: readonly string[]): Launch {
    for (const mount of context.mounts) if (mount.kind !== "tmpfs") giveToService(mount.hostPath, this.identity);
    const fds = new ExtraFds();
    const args = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", hostnameOf(context.service.name)];
    const program = seccompProgram();
    if (program) args.push("--seccomp", fds.data(program));
    args.push(...filesystemArguments(context, cwd, this.identity, fds));
    if (this.identity.dropsRoot) return { file: this.tools.nsenter, args: [...pod.enterNetwork(), this.tools.bwrap, ...args, ...this.switchUser(argv)], fds };
    // ghostd's own user: bubblewrap makes the user namespace, in the pod's, and then no more of them.
    return { file: this.tools.nsenter, args: [...pod.enterUserAndNetwork(), this.tools.bwrap, "--unshare-user", "--disable-userns", ...args, "--", ...argv], fds };
  }

  /**
   * As root, bubblewrap makes the sandbox's mounts (reaching what only root may, such as a
   * package under a private directory), then setpriv becomes the services' user: every
   * capability and the bounding set gone, supplementary groups cleared, no_new_privs kept.
   */
  private switchUser(argv: readonly string[]): string[] {
    const { uid, gid } = this.identity;
    const keep = ["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"].flatMap((cap) => ["--cap-add", cap]);
    return [...keep, "--", this.tools.setpriv, `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", ...argv];
  }
}

function hostnameOf(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 63) || "service";
}
