import { Server, ServerCredentials } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer, loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatusMap } from "grpc-health-check";
import type { Logger } from "pino";
import type { ServiceBinding } from "./bind";
import { MAX_MESSAGE_BYTES } from "./limits";
import { claimUnixSocket, releaseUnixSocket, restrictUnixSocket } from "./unix-socket";


export interface GrpcServerOptions {
  /** Unix socket path; the socket is made owner-only. */
  readonly socketPath: string;
  /** `host:port` to also listen on over TCP. */
  readonly tcp?: string | undefined;
  /** How often each connection is pinged; one that does not answer within as long is closed. */
  readonly keepaliveMs: number;
  /** How long a connection may go without a call before it is closed. */
  readonly idleTimeoutMs: number;
  readonly services: readonly ServiceBinding[];
  /** The contract's FileDescriptorSet, served through reflection. */
  readonly descriptorSet: Buffer;
  readonly logger: Logger;
}

export interface RunningGrpcServer {
  /** `unix:/path`, and `host:port` when TCP was asked for. */
  readonly addresses: { readonly unix: string; readonly tcp?: string };
  /** Stops accepting calls, waits a moment for calls in flight, then stops the services. */
  close(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
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
  });
  for (const binding of options.services) server.addService(binding.definition, binding.implementation);

  const statuses: ServingStatusMap = { "": "SERVING" };
  for (const binding of options.services) statuses[binding.name] = "SERVING";
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  // Reflection describes the contract and the health service beside it, as grpcurl expects.
  const described = { ...loadFileDescriptorSetFromBuffer(options.descriptorSet), ...loadSync(healthProtoPath) };
  new ReflectionService(described).addToServer(server);

  await claimUnixSocket(options.socketPath);
  await bind(server, `unix:${options.socketPath}`);
  await restrictUnixSocket(options.socketPath);
  let tcp: string | undefined;
  if (options.tcp) {
    const port = await bind(server, options.tcp);
    tcp = `${options.tcp.slice(0, options.tcp.lastIndexOf(":"))}:${port}`;
  }

  return {
    addresses: tcp ? { unix: `unix:${options.socketPath}`, tcp } : { unix: `unix:${options.socketPath}` },
    async close(graceMs = 2000) {
      for (const name of Object.keys(statuses)) health.setStatus(name, "NOT_SERVING");
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await Promise.all(options.services.map(async (s) => s.close?.()));
      await releaseUnixSocket(options.socketPath);
    },
  };
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(new Error(`cannot listen for gRPC on ${address}: ${err.message}`));
      else resolve(port);
    });
  });
}
