import {
  status as GrpcStatus,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { statusError, toServiceError } from "./errors";

/** A service ready to add to the gRPC server. */
export interface ServiceBinding {
  /** Fully qualified name, `ghostd.supervisor.v1.Supervisor`. */
  readonly name: string;
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
  /** Stops what the service runs (children, timers) on shutdown. */
  close?(): Promise<void>;
}

type MethodOf<D> = D extends Record<infer K, unknown> ? K : never;

/**
 * Binds the handlers a service has so far; every other method of its definition answers
 * UNIMPLEMENTED, naming the method, instead of made-up data.
 */
export function bindService<D extends ServiceDefinition>(
  name: string,
  definition: D,
  handlers: Partial<Record<MethodOf<D>, UntypedServiceImplementation[string]>>,
  close?: () => Promise<void>,
): ServiceBinding {
  const implementation: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition)) {
    implementation[key] = (handlers as Record<string, UntypedServiceImplementation[string] | undefined>)[key] ?? unimplemented(method.path, method.responseStream);
  }
  return close ? { name, definition, implementation, close } : { name, definition, implementation };
}

function unimplemented(path: string, streaming: boolean): UntypedServiceImplementation[string] {
  const error = (): Partial<import("@grpc/grpc-js").ServiceError> =>
    statusError(GrpcStatus.UNIMPLEMENTED, "unimplemented", `${path.slice(1)} is not implemented yet`);
  if (streaming) return ((call: ServerWritableStream<unknown, unknown>) => call.emit("error", error())) as handleServerStreamingCall<unknown, unknown>;
  return ((_call: ServerUnaryCall<unknown, unknown>, callback: (err: unknown) => void) => callback(error())) as handleUnaryCall<unknown, unknown>;
}

/** A unary handler from an async function; its DomainErrors become statuses with reasons. */
export function unary<Req, Res>(logger: Logger, fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err, logger, call.getPath())),
      );
  };
}

/**
 * A server-streaming handler from an async function that writes through `send`; the stream ends
 * when it returns, and fails (once) when it throws.
 */
export function serverStream<Req, Res>(
  logger: Logger,
  fn: (request: Req, send: (message: Res) => Promise<void>, call: ServerWritableStream<Req, Res>) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const send = (message: Res): Promise<void> =>
      new Promise((resolve) => {
        if (call.write(message)) resolve();
        else call.once("drain", resolve);
      });
    fn(call.request, send, call).then(
      () => call.end(),
      (err: unknown) => {
        if (!call.cancelled) call.emit("error", toServiceError(err, logger, call.getPath()));
      },
    );
  };
}
