import {
  status as GrpcStatus,
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type MethodDefinition,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { statusError } from "./errors";
import { grpcHandler } from "./grpc-handlers";
import { bidiStreamCore, clientStreamCore, failingCore, serverStreamCore, unaryCore, type CallContext, type MethodCore } from "./method-cores";
import { serviceNameOf } from "./service-names";

export type { CallContext } from "./method-cores";

/** One method of a bound service: its codecs (from the generated definition) and what it does. */
export interface BoundMethod {
  readonly definition: MethodDefinition<unknown, unknown>;
  readonly core: MethodCore;
}

/** A service ready to add to the gRPC server, or to call in this process. */
export interface ServiceBinding {
  /** Fully qualified name, `ghostd.supervisor.v1.Supervisor`. */
  readonly name: string;
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
  /** Every method, by its gRPC path (`/ghostd.supervisor.v1.Supervisor/ListApps`), for the in-process channel. */
  readonly methods: ReadonlyMap<string, BoundMethod>;
  /** Stops what the service runs (children, timers) on shutdown. */
  close?(): Promise<void>;
}

type MethodOf<D> = D extends Record<infer K, unknown> ? K : never;

/** The core behind each handler `unary`, `clientStream`, `serverStream` and `bidiStream` made. */
const cores = new WeakMap<UntypedHandleCall, MethodCore>();

/**
 * Binds the handlers a service has so far; every other method of its definition answers
 * UNIMPLEMENTED, naming the method, instead of made-up data. Every handler must have been made by
 * this module's builders, so that the in-process channel runs exactly what the gRPC server runs.
 */
export function bindService<D extends ServiceDefinition>(
  definition: D,
  handlers: Partial<Record<MethodOf<D>, UntypedServiceImplementation[string]>>,
  close?: () => Promise<void>,
): ServiceBinding {
  const name = serviceNameOf(definition);
  const implementation: UntypedServiceImplementation = {};
  const methods = new Map<string, BoundMethod>();
  for (const [key, method] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    const handler = (handlers as Record<string, UntypedHandleCall | undefined>)[key];
    const core = handler ? cores.get(handler) : unimplemented(method);
    if (!core) throw new Error(`${method.path}: handlers are made by unary, clientStream, serverStream or bidiStream`);
    implementation[key] = handler ?? grpcHandler(core);
    methods.set(method.path, { definition: method, core });
  }
  const binding = { name, definition, implementation, methods };
  return close ? { ...binding, close } : binding;
}

function unimplemented(method: MethodDefinition<unknown, unknown>): MethodCore {
  const status = statusError(GrpcStatus.UNIMPLEMENTED, "unimplemented", `${method.path.slice(1)} is not implemented yet`);
  return failingCore(method.requestStream, method.responseStream, status);
}

function handlerOf(core: MethodCore): UntypedHandleCall {
  const handler = grpcHandler(core);
  cores.set(handler, core);
  return handler;
}

/** A unary handler from an async function; its DomainErrors become statuses with reasons. */
export function unary<Req, Res>(logger: Logger, fn: (request: Req, context: CallContext) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
  return handlerOf(unaryCore(logger, fn)) as handleUnaryCall<Req, Res>;
}

/** A client-streaming handler: see `clientStreamCore`. */
export function clientStream<Req, Res>(logger: Logger, fn: (requests: AsyncIterator<Req>, context: CallContext) => Promise<Res>): handleClientStreamingCall<Req, Res> {
  return handlerOf(clientStreamCore(logger, fn)) as handleClientStreamingCall<Req, Res>;
}

/** A server-streaming handler: see `serverStreamCore`. */
export function serverStream<Req, Res>(
  logger: Logger,
  fn: (request: Req, context: CallContext) => AsyncIterable<Res> | Iterable<Res> | Promise<AsyncIterable<Res> | Iterable<Res>>,
): handleServerStreamingCall<Req, Res> {
  return handlerOf(serverStreamCore(logger, fn)) as handleServerStreamingCall<Req, Res>;
}

/** For `serverStream`: opens a stream in a promise, so what `open` throws fails the call and headers follow its success. */
export function opening<T>(open: () => T | Promise<T>): Promise<T> {
  return Promise.resolve().then(open);
}

/** A bidirectional handler: see `bidiStreamCore`. */
export function bidiStream<Req, Res>(
  logger: Logger,
  fn: (requests: AsyncIterator<Req>, context: CallContext) => Promise<AsyncIterable<Res>>,
): handleBidiStreamingCall<Req, Res> {
  return handlerOf(bidiStreamCore(logger, fn)) as handleBidiStreamingCall<Req, Res>;
}
