import { connectivityState, type ChannelInterface, type Deadline } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { BoundMethod, ServiceBinding } from "../bind";
import { InProcessCall } from "./call";

/**
 * A grpc-js channel whose calls run this process's services directly: a grpc-js `Client` built
 * over it (`channelOverride`) is an ordinary client, with grpc-js's own call objects, events and
 * errors, minus HTTP/2 and the socket. grpc-gateway's `Register<Service>HandlerServer` makes the
 * same choice for a gateway in the server's process.
 */
export class InProcessChannel implements ChannelInterface {
  private readonly methods = new Map<string, BoundMethod>();
  private closed = false;

  constructor(
    services: readonly ServiceBinding[],
    private readonly logger: Logger,
  ) {
    for (const service of services) for (const [path, method] of service.methods) this.methods.set(path, method);
  }

  createCall(method: string, deadline: Deadline): InProcessCall {
    if (this.closed) throw new Error("Channel has been shut down");
    return new InProcessCall(method, this.methods.get(method), deadline, this.logger);
  }

  close(): void {
    this.closed = true;
  }

  getTarget(): string {
    return "in-process";
  }

  getConnectivityState(): connectivityState {
    return this.closed ? connectivityState.SHUTDOWN : connectivityState.READY;
  }

  /** The state changes once, when the channel closes; nobody waits for that here, so only the deadline is kept. */
  watchConnectivityState(current: connectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    if (current !== this.getConnectivityState()) return void setImmediate(callback);
    const ms = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
    setTimeout(() => callback(new Error("Deadline passed without connectivity state change")), Math.max(0, ms)).unref();
  }

  getChannelzRef(): ReturnType<ChannelInterface["getChannelzRef"]> {
    // Channelz does not track this channel; its reference only has to be well-formed, and the
    // enum its kind is typed with is not exported.
    return { kind: "channel", id: 0, name: "in-process" } as unknown as ReturnType<ChannelInterface["getChannelzRef"]>;
  }
}
