import { spawn, type ChildProcess } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { supervisorError } from "../../reasons";
import { signalQuietly } from "../../../proc";
import { spawnAs, type ServiceIdentity } from "./identity";

export interface PublishedPort {
  readonly hostPort: number;
  readonly protocol: "tcp" | "udp";
}

/** Where the programs a pod needs are (util-linux's unshare and nsenter; slirp4netns for egress). */
export interface PodTools {
  readonly unshare: string;
  readonly nsenter: string;
  readonly slirp4netns: string | undefined;
}

export interface PodSpec {
  readonly identity: ServiceIdentity;
  readonly tools: PodTools;
  /** Reach beyond this machine (the manifest's security.network), through slirp4netns. */
  readonly egress: boolean;
}

const HOLDER_SOURCE = join(__dirname, "pod-holder.js");
const READY_MS = 10_000;

/**
 * A project's network namespace, shared by its services as a Kubernetes pod's containers share
 * one: each reaches the others on 127.0.0.1 and by service name, none reaches the host's
 * loopback, and the host reaches them only through the ports published on its 127.0.0.1. It is
 * owned by a user namespace of the services' user, so root in it is no one on the host.
 */
export class Pod {
  private readonly published = new Set<string>();
  private egressProcess: ChildProcess | undefined;

  private constructor(
    private readonly holder: ChildProcess,
    private readonly spec: PodSpec,
  ) {}

  static async create(spec: PodSpec): Promise<Pod> {
    const { identity, tools } = spec;
    const unshare = [tools.unshare, "--user", `--map-user=${identity.uid}`, `--map-group=${identity.gid}`, "--net", "--keep-caps", "--"];
    const holder = await startHolder([...unshare, process.execPath, "-", "--new"], identity);
    const pod = new Pod(holder, spec);
    try {
      if (spec.egress) await pod.startEgress();
    } catch (err) {
      await pod.close();
      throw err;
    }
    return pod;
  }

  get pid(): number {
    return this.holder.pid ?? 0;
  }

  /** nsenter's arguments that put a command in the pod's network namespace (root may enter it from outside). */
  enterNetwork(): string[] {
    return [`--net=/proc/${this.pid}/ns/net`, "--"];
  }

  /** nsenter's arguments that put a command of the pod's owner in its user and network namespaces. */
  enterUserAndNetwork(): string[] {
    return ["--target", String(this.pid), "--user", "--net", "--preserve-credentials", "--"];
  }

  /** Publishes each port not published yet: bound here on the host's 127.0.0.1, forwarded by the holder. */
  async publish(ports: readonly PublishedPort[]): Promise<void> {
    for (const port of ports) {
      if (this.publishes(port)) continue;
      const handle = port.protocol === "udp" ? await bindUdp(port.hostPort) : await listenTcp(port.hostPort);
      await new Promise<void>((resolve, reject) => this.holder.send({ publish: port.hostPort, protocol: port.protocol }, handle, (err) => (err ? reject(err) : resolve())));
      // The holder has its own copy now; ours would take connections from it.
      handle.close();
      this.published.add(`${port.hostPort}/${port.protocol}`);
    }
  }

  publishes(port: PublishedPort): boolean {
    return this.published.has(`${port.hostPort}/${port.protocol}`);
  }

  /** Resolves once the holder is gone, and with it the published ports. */
  close(): Promise<void> {
    if (this.egressProcess?.pid) signalQuietly(this.egressProcess.pid, "SIGTERM");
    const gone = this.holder.exitCode !== null || this.holder.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => this.holder.once("exit", () => resolve()));
    if (this.holder.pid) signalQuietly(this.holder.pid, "SIGKILL");
    return gone;
  }

  /**
   * slirp4netns gives the pod a route out through user-mode networking, with the host's loopback
   * refused. A root daemon runs it as root (only root may open /dev/net/tun on most machines),
   * confined by its own sandbox and seccomp filter; it ends when ghostd does (its exit fd).
   */
  private async startEgress(): Promise<void> {
    const { slirp4netns } = this.spec.tools;
    if (!slirp4netns) throw supervisorError("START_FAILED", "security.network: true needs slirp4netns (Debian package slirp4netns), which is not installed");
    const root = process.getuid?.() === 0;
    const args = ["--configure", "--mtu=65520", "--disable-host-loopback", "--exit-fd=3", "--ready-fd=4", "--netns-type=path"];
    if (root) args.push("--enable-sandbox", "--enable-seccomp");
    else args.push(`--userns-path=/proc/${this.pid}/ns/user`);
    args.push(`/proc/${this.pid}/ns/net`, "tap0");
    const child = spawn(slirp4netns, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
    this.egressProcess = child;
    await firstOutput(child, 4, "slirp4netns");
  }
}

async function startHolder(command: string[], identity: ServiceIdentity): Promise<ChildProcess> {
  const [file = "", ...args] = command;
  const env = { GHOSTD_POD_HOLDER: "1", PATH: process.env.PATH ?? "/usr/bin:/bin" };
  const holder = spawn(file, args, { ...spawnAs(identity), cwd: "/", env, stdio: ["pipe", "ignore", "pipe", "ipc"] });
  holder.stdin?.on("error", () => undefined);
  holder.stdin?.end(readFileSync(HOLDER_SOURCE));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("no answer in time")), READY_MS);
    let stderr = "";
    holder.stderr?.on("data", (chunk: Buffer) => (stderr = `${stderr}${chunk.toString()}`.slice(-2000)));
    const fail = (err: Error): void => {
      clearTimeout(timer);
      signalQuietly(holder.pid ?? 0, "SIGKILL");
      reject(supervisorError("START_FAILED", `cannot make the project's network namespace: ${err.message}${stderr ? `: ${stderr.trim()}` : ""}`));
    };
    holder.once("error", fail);
    holder.once("exit", (code) => fail(new Error(`its holder exited (${String(code)})`)));
    holder.once("message", () => {
      clearTimeout(timer);
      holder.removeAllListeners("exit");
      resolve();
    });
  });
  return holder;
}

/** Resolves when `fd` of the child says something; rejects when the child ends first. */
function firstOutput(child: ChildProcess, fd: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr = `${stderr}${chunk.toString()}`.slice(-2000)));
    const stream = child.stdio[fd] as NodeJS.ReadableStream | null;
    stream?.once("data", () => resolve());
    child.once("error", (err) => reject(supervisorError("START_FAILED", `${name}: ${err.message}`)));
    child.once("exit", (code) => reject(supervisorError("START_FAILED", `${name} exited (${String(code)}) before the network was up: ${stderr.trim()}`)));
  });
}

function listenTcp(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (err) => reject(supervisorError("START_FAILED", `cannot publish 127.0.0.1:${port}/tcp: ${err.message}`)));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(server));
  });
}

function bindUdp(port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", (err) => reject(supervisorError("START_FAILED", `cannot publish 127.0.0.1:${port}/udp: ${err.message}`)));
    socket.bind({ port, address: "127.0.0.1", exclusive: true }, () => resolve(socket));
  });
}
