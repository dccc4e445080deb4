import { Metadata, ServerCredentials, ServerInterceptingCall, status as GrpcStatus, type Server, type ServerInterceptingCallInterface, type ServerInterceptor } from "@grpc/grpc-js";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { judgePeer, type PeerPolicy, type PeerVerdict } from "../peer-credentials";
import { statusError } from "./errors";

/**
 * The gRPC server's TCP listener, judging its clients. grpc-js gives no hook per connection, so
 * the listener is a plain TCP server of ours: each connection is judged once, from the kernel's
 * socket table, as it is accepted, then handed to grpc-js. The TCP server's interceptor, on every
 * method (services, health, reflection, unary and streaming alike), waits for its connection's
 * verdict before the call's handler sees anything, and answers a refused one PERMISSION_DENIED.
 */
export class TcpPeers {
  private readonly verdicts = new Map<string, Promise<PeerVerdict>>();

  constructor(private readonly policy: PeerPolicy) {}

  /**
   * Listens on `host:port` (`[::1]:0` for IPv6) and feeds grpc-js what it accepts. `close` stops
   * accepting; the connections already handed over end with the gRPC server's shutdown.
   */
  async listen(server: Server, address: string): Promise<{ port: number; close: () => void }> {
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const listener = createServer((socket) => {
      this.admit(socket);
      injector.injectConnection(socket);
    });
    const port = await listenOn(listener, address);
    return { port, close: () => listener.close() };
  }

  readonly interceptor: ServerInterceptor = (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            void this.verdictOf(call.getConnectionInfo()).then((judged) => {
              if (judged.allowed) pass(metadata);
              else call.sendStatus(refusal(judged.message));
            });
          },
        });
      },
    });

  private admit(socket: Socket): void {
    const key = keyOf(socket);
    this.verdicts.set(key, judgePeer(this.policy, socket));
    socket.once("close", () => this.verdicts.delete(key));
  }

  /** Every connection of this server came through admit(); one that cannot be matched to it (gone already) is refused. */
  private verdictOf(info: ConnectionInfo): Promise<PeerVerdict> {
    return this.verdicts.get(keyOf(info)) ?? Promise.resolve({ allowed: false, message: "this API cannot tell which user the client runs as, so it refuses it" });
  }
}

type ConnectionInfo = ReturnType<ServerInterceptingCallInterface["getConnectionInfo"]>;

function keyOf(ends: ConnectionInfo): string {
  return `${ends.remoteAddress ?? ""}|${ends.remotePort ?? ""}|${ends.localAddress ?? ""}|${ends.localPort ?? ""}`;
}

/** PERMISSION_DENIED with the `permission_denied` reason in its ErrorInfo, as a handler's own refusal would be. */
function refusal(message: string): { code: GrpcStatus; details: string; metadata: Metadata } {
  const error = statusError(GrpcStatus.PERMISSION_DENIED, "permission_denied", message);
  return { code: GrpcStatus.PERMISSION_DENIED, details: error.details ?? message, metadata: error.metadata ?? new Metadata() };
}

function listenOn(listener: NetServer, address: string): Promise<number> {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    listener.once("error", (err) => reject(new Error(`cannot listen for gRPC on ${address}: ${err.message}`)));
    listener.listen({ host, port }, () => resolve((listener.address() as { port: number }).port));
  });
}
