import { rm } from "node:fs/promises";
import { ownerOnlyDirectory } from "../server/owner-only";
import { replaceFile } from "../server/atomic-file";
import type { Logger } from "pino";
import { LogRing } from "../server/log-ring";
import { assertLocal, startGateway, type RunningGateway } from "../gateway/gateway";
import { loadContract } from "../gateway/transcoder/descriptors";
import { parseTarget, type Target } from "../gateway/transport/targets";
import { agentService } from "../server/agent/service";
import { daemonPeerPolicy } from "../server/peer-credentials";
import { startGrpcServer, type RunningGrpcServer } from "../server/rpc/server";
import type { PackageLimits } from "../server/supervisor/packages/entry-rules";
import type { PortRange } from "../server/supervisor/ports";
import { chooseRuntimes, type RuntimeMode } from "../server/supervisor/runtime/selection";
import { supervisorServices } from "../server/supervisor/service";
import { ClipboardStore } from "../server/clipboard/store";
import { terminalService } from "../server/terminal/service";
import { DEFAULT_TERMINAL_SETTINGS, type TerminalSettings } from "../server/terminal/terminals";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError, endpointsPath, grpcSocketPath, runDir } from "./config";
import type { VmConfig } from "./config-file";
import { contractDescriptorSet, standardDescriptorSet, version } from "./package-info";
import { userEnvironment } from "./user-env";
import { lockHome } from "./home-lock";

export interface DaemonOptions {
  readonly home: string;
  readonly logger: Logger;
  /** The logger's recent lines, for the agent's `GET /api/v1/logs`. */
  readonly logs?: LogRing | undefined;
  /** The gRPC server and its services (serve, agent); undefined when only the gateway runs. */
  readonly server: ServerHalf | undefined;
  /** The HTTP gateway (serve, gateway); undefined when only the server runs. */
  readonly gateway: GatewayHalf | undefined;
}

/** The server's settings, one group per module it starts. */
export interface ServerHalf {
  readonly grpc: {
    /** Also listen for gRPC on this `host:port`. */
    readonly tcp: string | undefined;
    /** Whether `tcp` may be a non-loopback address. */
    readonly allowRemote: boolean;
    /** Whether loopback clients running as root are served besides the daemon's own user. */
    readonly allowRootClients: boolean;
    /** How often each connection is pinged; one that does not answer within as long is closed. */
    readonly keepaliveMs: number;
    /** How long a connection may go without a call before it is closed. */
    readonly idleTimeoutMs: number;
  };
  readonly agent: {
    /** Bytes of output a non-streaming exec keeps per stream. */
    readonly execOutputLimit: number;
  };
  readonly supervisor: {
    /** Host ports the supervisor hands out. */
    readonly portRange: PortRange;
    /** Whether project services run in bubblewrap when it is there. */
    readonly sandbox: "auto" | "off";
    /** Whom services run as when the daemon is root. */
    readonly serviceUid: number;
    /** Where services run: containers for image services when an engine answers (auto), or as told. */
    readonly runtime: RuntimeMode;
    /** What an imported package may hold. */
    readonly packageLimits: PackageLimits;
  };
  /** How terminals are sized and started. */
  readonly terminals: TerminalOptions;
}

/** What a user sets of the terminals; the rest is fixed, or the daemon's environment. */
export type TerminalOptions = Omit<TerminalSettings, keyof typeof DEFAULT_TERMINAL_SETTINGS | "env">;

export interface GatewayHalf {
  /** The server the gateway calls; this daemon's own socket when unset. */
  readonly target: string | undefined;
  /** How the gateway calls this daemon's own services: directly, or over its gRPC socket. */
  readonly calls: "in-process" | "grpc";
  readonly http: { host: string; port: number } | undefined;
  readonly allowRemote: boolean;
  /** Whether loopback clients running as root are served besides the daemon's own user. */
  readonly allowRootClients: boolean;
  readonly hostApiDir: string;
  readonly vm: string;
  /** More VMs, from `--config`, each with its own Host API socket and guest. */
  readonly vms: readonly VmConfig[];
  readonly maxBodyBytes: number;
  readonly maxUploadBytes: number;
  readonly clientTimeoutMs: number;
}

export interface RunningDaemon {
  readonly endpoints: Endpoints;
  close(): Promise<void>;
}

/** What `$GHOSTD_HOME/run/endpoints.json` holds once every listener is up. */
export interface Endpoints {
  /** The daemon's process id, so a reader can tell this run's file from one a killed run left. */
  pid: number;
  grpc?: string;
  grpc_tcp?: string;
  http?: string;
  host_api: Record<string, string>;
}

/** Starts the halves the options ask for, writes the endpoints file, and says where it listens. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { logger } = options;
  // Everything under the home is the owner's alone, a home made by hand with 0755 included.
  for (const dir of [options.home, runDir(options.home), join(options.home, "api")]) ownerOnlyDirectory(dir);
  // The server owns the home's registry and services: a second one must not touch them.
  const lock = options.server ? lockHome(options.home) : undefined;
  const descriptorSet = contractDescriptorSet();
  let server: RunningGrpcServer | undefined;
  let gateway: RunningGateway | undefined;
  const close = async (): Promise<void> => {
    await rm(endpointsPath(options.home), { force: true });
    await gateway?.close();
    await server?.close();
    lock?.release();
  };
  try {
    if (options.server) server = await startServer(options, options.server, descriptorSet);
    if (options.gateway) gateway = await startGatewayHalf(options, options.gateway, descriptorSet, server);
  } catch (err) {
    await close();
    throw err;
  }
  const endpoints = endpointsOf(server, gateway);
  await replaceFile(endpointsPath(options.home), `${JSON.stringify(endpoints, null, 2)}\n`);
  logger.info({ endpoints, version }, `ghostd listening: ${describe(endpoints)}`);
  return { endpoints, close };
}

/** The gRPC server with the three services, sharing one clipboard: what terminals copy, the guest agent serves. */
async function startServer(options: DaemonOptions, half: ServerHalf, descriptorSet: Buffer): Promise<RunningGrpcServer> {
  const { logger, home } = options;
  if (half.grpc.tcp !== undefined) await assertLocal(half.grpc.tcp.slice(0, half.grpc.tcp.lastIndexOf(":")), half.grpc.allowRemote);
  const env = userEnvironment(process.env);
  const clipboard = new ClipboardStore();
  const runtimes = await chooseRuntimes({
    mode: half.supervisor.runtime,
    process: { sandbox: half.supervisor.sandbox, serviceUid: half.supervisor.serviceUid, env, taskDir: join(home, "runtime", "process") },
    env: process.env,
    logger,
  });
  return startGrpcServer({
    socketPath: grpcSocketPath(home),
    tcp: half.grpc.tcp,
    peers: daemonPeerPolicy(half.grpc.allowRootClients),
    keepaliveMs: half.grpc.keepaliveMs,
    idleTimeoutMs: half.grpc.idleTimeoutMs,
    services: [
      ...supervisorServices({ logger, home, portRange: half.supervisor.portRange, runtimes, env, packageLimits: half.supervisor.packageLimits }),
      agentService({ logger, logs: options.logs ?? new LogRing(), version, stateDir: join(home, "agent"), clipboard, home: homedir(), env, execOutputLimit: half.agent.execOutputLimit }),
      terminalService({ logger, clipboard, settings: { ...DEFAULT_TERMINAL_SETTINGS, ...half.terminals, env } }),
    ],
    descriptorSets: [descriptorSet, standardDescriptorSet()],
    logger,
  });
}

/**
 * The gateway in front of this home's server, or `--target`'s, and one Host API socket per VM.
 * A server in this process is called directly unless asked otherwise.
 */
function startGatewayHalf(options: DaemonOptions, half: GatewayHalf, descriptorSet: Buffer, server: RunningGrpcServer | undefined): Promise<RunningGateway> {
  const target: Target = parseTarget(half.target ?? `unix:${grpcSocketPath(options.home)}`);
  const inProcess = server && half.calls === "in-process" ? { target: parseTarget(server.addresses.unix), services: server.services } : undefined;
  const vms = [{ name: half.vm, target }, ...half.vms.map((vm) => ({ name: vm.name, target: parseTarget(vm.target) }))];
  const names = vms.map((vm) => vm.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new ConfigError(`VM "${twice}" is named twice (--vm and --config)`);
  return startGateway({
    contract: loadContract(descriptorSet),
    logger: options.logger,
    version,
    maxBodyBytes: half.maxBodyBytes,
    maxUploadBytes: half.maxUploadBytes,
    clientTimeoutMs: half.clientTimeoutMs,
    http: half.http && { ...half.http, allowRemote: half.allowRemote, peers: daemonPeerPolicy(half.allowRootClients), target },
    hostApiDir: half.hostApiDir,
    vms,
    inProcess,
  });
}

function endpointsOf(server: RunningGrpcServer | undefined, gateway: RunningGateway | undefined): Endpoints {
  const endpoints: Endpoints = { pid: process.pid, host_api: { ...gateway?.hostApi } };
  if (server) endpoints.grpc = server.addresses.unix;
  if (server?.addresses.tcp) endpoints.grpc_tcp = server.addresses.tcp;
  if (gateway?.http) endpoints.http = gateway.http;
  return endpoints;
}

function describe(endpoints: Endpoints): string {
  const parts: string[] = [];
  if (endpoints.grpc) parts.push(`gRPC ${endpoints.grpc}`);
  if (endpoints.grpc_tcp) parts.push(`gRPC ${endpoints.grpc_tcp}`);
  if (endpoints.http) parts.push(`HTTP ${endpoints.http}`);
  for (const [vm, path] of Object.entries(endpoints.host_api)) parts.push(`Host API ${vm} unix:${path}`);
  return parts.join(", ");
}
