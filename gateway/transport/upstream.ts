import { Client, credentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ServiceBinding } from "../../server/rpc/bind";
import { InProcessChannel } from "../../server/rpc/in-process/channel";
import { MAX_MESSAGE_BYTES } from "../../server/rpc/limits";
import { HybridVsockBridge } from "./hybrid-vsock";
import { formatTarget, type Target } from "./targets";

const CHANNEL_OPTIONS = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  // Per-call bookkeeping the gateway does not use.
  "grpc.enable_channelz": 0,
  // Retries stay on, with no retry policy: grpc-js then only sends again a call that never
  // reached the service (its connection had received a GOAWAY, or refused the stream), which is
  // safe for any method. The server closes idle and broken connections, so the gateway's channel
  // meets GOAWAYs routinely; without this, one call in ten crossing one failed with "Stream
  // refused by server" or "New streams cannot be created after receiving a GOAWAY".
  // A guest that restarts is found again within a couple of seconds, not minutes.
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 2000,
};

/**
 * One gRPC channel to one ghostd server, shared by every route that calls it: over a socket, or,
 * for services in the gateway's own process, a channel that calls them directly. Either way it is
 * a grpc-js Client, so the transcoder cannot tell them apart.
 */
export class Upstream {
  private constructor(
    readonly target: Target | "in-process",
    readonly client: Client,
    private readonly bridge: HybridVsockBridge | undefined,
  ) {}

  static inProcess(services: readonly ServiceBinding[], logger: Logger): Upstream {
    return new Upstream("in-process", new Client("in-process", credentials.createInsecure(), { channelOverride: new InProcessChannel(services, logger) }), undefined);
  }

  static async open(target: Target): Promise<Upstream> {
    if (target.kind === "fc-vsock") {
      const bridge = await HybridVsockBridge.open(target.path, target.port);
      return new Upstream(target, new Client(`unix:${bridge.socketPath}`, credentials.createInsecure(), CHANNEL_OPTIONS), bridge);
    }
    return new Upstream(target, new Client(formatTarget(target), credentials.createInsecure(), CHANNEL_OPTIONS), undefined);
  }

  async close(): Promise<void> {
    this.client.close();
    await this.bridge?.close();
  }
}
