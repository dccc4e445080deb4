import { createServer, type Server } from "node:http";
import { lookup } from "node:dns/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { PeerPolicy } from "../server/peer-credentials";
import type { ServiceBinding } from "../server/rpc/bind";
import { claimUnixSocket, releaseUnixSocket, restrictUnixSocket } from "../server/rpc/unix-socket";
import { answerClientErrors } from "./surfaces/client-errors";
import { hostApiSurface } from "./surfaces/host-api";
import { isLoopback } from "./surfaces/local-only";
import { checkingInterval, surfaceApp, type Surface } from "./surfaces/surface";
import { terminalApiSurface } from "./surfaces/terminal-api";
import type { Contract } from "./transcoder/descriptors";
import { formatTarget, type Target } from "./transport/targets";
import { serveUpgrades } from "./transport/upgrades";
import { Upstream } from "./transport/upstream";

export interface HttpListenOptions {
  readonly host: string;
  readonly port: number;
  /** Listen on a non-loopback address and accept any Host header. */
  readonly allowRemote: boolean;
  /** Which users' loopback clients are served. */
  readonly peers: PeerPolicy;
  /** The server the Terminal and Supervisor routes call. */
  readonly target: Target;
}

export interface VmOptions {
  readonly name: string;
  /** The server running this VM's guest agent. */
  readonly target: Target;
}

export interface GatewayOptions {
  readonly contract: Contract;
  readonly logger: Logger;
  readonly version: string;
  readonly maxBodyBytes: number;
  /** Host API: the limit for uploads and the clipboard. */
  readonly maxUploadBytes: number;
  /** Every listener: how long a client may take over its headers, and pause while sending a body. */
  readonly clientTimeoutMs: number;
  /** The Terminal/Supervisor listener; none when undefined (`--http off`). */
  readonly http: HttpListenOptions | undefined;
  /** Directory holding one `<vm>.GhostVM.sock` per VM. */
  readonly hostApiDir: string;
  readonly vms: readonly VmOptions[];
  /** Services of this process, called directly rather than over gRPC wherever a route's target is their server's. */
  readonly inProcess?: InProcessServices | undefined;
}

export interface InProcessServices {
  /** The address the gRPC server serves these on. */
  readonly target: Target;
  readonly services: readonly ServiceBinding[];
}

export interface RunningGateway {
  /** `http://host:port` of the Terminal/Supervisor listener. */
  readonly http: string | undefined;
  /** Host API socket path by VM name. */
  readonly hostApi: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export class ListenError extends Error {}

/** Starts every HTTP surface of the gateway; on any failure, what had started is closed again. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const upstreams = new Upstreams(options.inProcess, options.logger);
  const closers: Closer[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer();
    await upstreams.close();
  };
  try {
    const http = options.http ? await listenTerminalApi(options, options.http, upstreams, closers) : undefined;
    const hostApi = await listenHostApis(options, upstreams, closers);
    return { http, hostApi, close };
  } catch (err) {
    await close();
    throw err;
  }
}

type Closer = () => Promise<void>;

/** One channel per target, shared by every surface that calls it; in-process for this process's own server. */
class Upstreams {
  private readonly byTarget = new Map<string, Upstream>();

  constructor(
    private readonly inProcess: InProcessServices | undefined,
    private readonly logger: Logger,
  ) {}

  async of(target: Target): Promise<Upstream> {
    const key = formatTarget(target);
    let upstream = this.byTarget.get(key);
    if (!upstream) {
      const local = this.inProcess && formatTarget(this.inProcess.target) === key ? this.inProcess.services : undefined;
      upstream = local ? Upstream.inProcess(local, this.logger) : await Upstream.open(target);
      this.byTarget.set(key, upstream);
    }
    return upstream;
  }

  async close(): Promise<void> {
    await Promise.all([...this.byTarget.values()].map((u) => u.close()));
  }
}

/** The Terminal/Supervisor listener; answers its `http://host:port`. */
async function listenTerminalApi(options: GatewayOptions, listen: HttpListenOptions, upstreams: Upstreams, closers: Closer[]): Promise<string> {
  const { host, port, allowRemote, peers, target } = listen;
  await assertLocal(host, allowRemote);
  const surface = terminalApiSurface({ maxBodyBytes: options.maxBodyBytes, clientTimeoutMs: options.clientTimeoutMs, allowRemote, peers, version: options.version });
  const upstream = await upstreams.of(target);
  const { server, closeUpgraded } = httpServer(options, surface, upstream);
  await listenTcp(server, host, port);
  closers.push(() => closeServer(server, closeUpgraded));
  return `http://${formatHostPort(host, server)}`;
}

/** One Host API socket per VM; answers their paths by VM name. */
async function listenHostApis(options: GatewayOptions, upstreams: Upstreams, closers: Closer[]): Promise<Record<string, string>> {
  const hostApi: Record<string, string> = {};
  const surface = hostApiSurface({
    maxBodyBytes: options.maxBodyBytes,
    maxUploadBytes: options.maxUploadBytes,
    clientTimeoutMs: options.clientTimeoutMs,
    version: options.version,
  });
  for (const vm of options.vms) {
    const path = join(options.hostApiDir, `${vm.name}.GhostVM.sock`);
    const { server, closeUpgraded } = httpServer(options, surface, await upstreams.of(vm.target));
    await listenUnix(server, path);
    closers.push(async () => {
      await closeServer(server, closeUpgraded);
      await releaseUnixSocket(path);
    });
    hostApi[vm.name] = path;
  }
  return hostApi;
}

/** A surface's HTTP server, and how to end the connections it has handed over to WebSockets. */
function httpServer(options: GatewayOptions, surface: Surface, upstream: Upstream): { server: Server; closeUpgraded: () => void } {
  const app = surfaceApp(options.contract, surface, () => upstream.client, options.logger.child({ surface: surface.name }));
  const handle = app.callback();
  // A request without Host is the surface's to judge (and answer in its JSON), not Node's bare 400.
  const settings = { connectionsCheckingInterval: checkingInterval(surface.server), requireHostHeader: false };
  const server = createServer(settings, (req, res) => void handle(req, res));
  const closeUpgraded = serveUpgrades(server, (req, res) => void handle(req, res), { maxPayload: options.maxBodyBytes });
  answerClientErrors(server, surface.renderError);
  const { maxRequestsPerSocket, headersTimeoutMs, requestTimeoutMs } = surface.server;
  if (maxRequestsPerSocket !== undefined) server.maxRequestsPerSocket = maxRequestsPerSocket;
  if (headersTimeoutMs !== undefined) server.headersTimeout = headersTimeoutMs;
  if (requestTimeoutMs !== undefined) server.requestTimeout = requestTimeoutMs;
  return { server, closeUpgraded };
}

/**
 * Refuses a non-loopback listen address unless remote access was asked for explicitly: the HTTP
 * listener and the gRPC TCP listener both serve unauthenticated exec to whoever reaches them.
 */
export async function assertLocal(host: string, allowRemote: boolean): Promise<void> {
  if (allowRemote || isLoopback(host)) return;
  const addresses = await lookup(host, { all: true }).catch(() => []);
  if (addresses.length > 0 && addresses.every((a) => isLoopback(a.address))) return;
  throw new ListenError(`refusing to listen on ${host}: not a loopback address (pass --allow-remote to expose the API to the network)`);
}

function listenTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(new ListenError(err.code === "EADDRINUSE" ? `${host}:${port} is already in use` : `cannot listen on ${host}:${port}: ${err.message}`));
    });
    server.listen(port, host, () => resolve());
  });
}

function formatHostPort(host: string, server: Server): string {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function listenUnix(server: Server, path: string): Promise<void> {
  await claimUnixSocket(path);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new ListenError(`cannot listen on ${path}: ${err.message}`)));
    server.listen(path, () => resolve());
  });
  await restrictUnixSocket(path);
}

function closeServer(server: Server, closeUpgraded: () => void): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    closeUpgraded();
  });
}
