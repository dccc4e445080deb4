import { Client, credentials } from "@grpc/grpc-js";
import { MAX_MESSAGE_BYTES } from "../../server/rpc/limits";
import { HybridVsockBridge } from "./hybrid-vsock";
import { formatTarget, type Target } from "./targets";

const CHANNEL_OPTIONS = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  // Per-call bookkeeping the gateway does not use: channelz tracing and transparent retries
  // (every call is one HTTP request, whose client decides whether to retry).
  "grpc.enable_channelz": 0,
  "grpc.enable_retries": 0,
  // A guest that restarts is found again within a couple of seconds, not minutes.
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 2000,
};

/** One gRPC channel to one ghostd server, shared by every route that calls it. */
export class Upstream {
  private constructor(
    readonly target: Target,
    readonly client: Client,
    private readonly bridge: HybridVsockBridge | undefined,
  ) {}

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
