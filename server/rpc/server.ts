import { Server, ServerCredentials, type ServerInterceptor } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatusMap } from "grpc-health-check";
import type { Logger } from "pino";
import type { ServiceBinding } from "./bind";
import type { PeerPolicy } from "../peer-credentials";
import { MAX_MESSAGE_BYTES } from "./limits";
import { TcpPeers } from "./tcp-peers";
import { DescriptorIndex } from "./reflection/descriptor-index";
import { reflectionServices } from "./reflection/service";
import { claimUnixSocket, releaseUnixSocket, restrictUnixSocket } from "./unix-socket";

export interface GrpcServerOptions {
  /** Unix socket path; the socket is made owner-only. */
  readonly socketPath: string;
  /** `host:port` to also listen on over TCP. */
  readonly tcp?: string | undefined;
  /** Which users' clients are served over TCP; the Unix socket's mode limits it to its owner. */
  readonly peers: PeerPolicy;
  /** How often each connection is pinged; one that does not answer within as long is closed. */
  readonly keepaliveMs: number;
  /** How long a connection may go without a call before it is closed. */
  readonly idleTimeoutMs: number;
  readonly services: readonly ServiceBinding[];
  /** The FileDescriptorSets (with imports) of the contract and of health and reflection, served through reflection. */
  readonly descriptorSets: readonly Buffer[];
  readonly logger: Logger;
}

export interface RunningGrpcServer {
  /** `unix:/path`, and `host:port` when TCP was asked for. */
  readonly addresses: { readonly unix: string; readonly tcp?: string };
  /** The services it serves, for callers in the same process. */
  readonly services: readonly ServiceBinding[];
  /** Stops accepting calls, waits a moment for calls in flight, then stops the services. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The gRPC server on its Unix socket and, when asked, TCP. They are two grpc-js servers with the
 * same services: only the TCP one judges its callers (its interceptor refuses any call whose
 * connection it did not admit), while the Unix socket's mode already keeps other users out.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const statuses: ServingStatusMap = { "": "SERVING" };
  for (const binding of options.services) statuses[binding.name] = "SERVING";
  const health = new HealthImplementation(statuses);
  const reflection = reflectionServices(new DescriptorIndex(options.descriptorSets), [
    ...options.services.map((binding) => binding.name),
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ]);
  const serve = (interceptors: ServerInterceptor[]): Server => {
    const server = new Server({
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      "grpc.enable_channelz": 0,
      // Node answers a malformed connection (a bad HPACK block, an oversized frame) with a GOAWAY
      // and then keeps it open for good, as it does one that never says anything: every such
      // connection held a descriptor until the daemon stopped. A peer that does not answer a ping
      // is closed, whatever it is doing; one that answers but makes no calls is closed when idle.
      "grpc.keepalive_time_ms": options.keepaliveMs,
      "grpc.keepalive_timeout_ms": options.keepaliveMs,
      "grpc.max_connection_idle_ms": options.idleTimeoutMs,
      interceptors,
    });
    for (const binding of options.services) server.addService(binding.definition, binding.implementation);
    health.addToServer(server);
    for (const { definition, implementation } of reflection) server.addService(definition, implementation);
    return server;
  };

  const unix = serve([]);
  await claimUnixSocket(options.socketPath);
  await bind(unix, `unix:${options.socketPath}`);
  await restrictUnixSocket(options.socketPath);
  const tcp = options.tcp === undefined ? undefined : await listenTcp(serve, options.peers, options.tcp).catch(async (err: unknown) => {
    await shutdown(unix, 0);
    await releaseUnixSocket(options.socketPath);
    throw err;
  });

  return {
    addresses: tcp ? { unix: `unix:${options.socketPath}`, tcp: tcp.address } : { unix: `unix:${options.socketPath}` },
    services: options.services,
    async close(graceMs = 2000) {
      for (const name of Object.keys(statuses)) health.setStatus(name, "NOT_SERVING");
      tcp?.stopAccepting();
      await Promise.all([shutdown(unix, graceMs), tcp && shutdown(tcp.server, graceMs)]);
      await Promise.all(options.services.map(async (s) => s.close?.()));
      await releaseUnixSocket(options.socketPath);
    },
  };
}

/** The TCP server, its callers judged; `host:port` with the port it got. */
async function listenTcp(serve: (interceptors: ServerInterceptor[]) => Server, policy: PeerPolicy, address: string) {
  const peers = new TcpPeers(policy);
  const server = serve([peers.interceptor]);
  const listener = await peers.listen(server, address);
  return { server, address: `${address.slice(0, address.lastIndexOf(":"))}:${listener.port}`, stopAccepting: listener.close };
}

/** Stops taking calls, waits up to `graceMs` for those in flight, then ends them. */
function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(new Error(`cannot listen for gRPC on ${address}: ${err.message}`));
      else resolve(port);
    });
  });
}
