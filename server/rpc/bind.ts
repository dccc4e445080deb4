import {
  type Deadline,
  Metadata,
  status as GrpcStatus,
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { statusError, toServiceError } from "./errors";
import { serviceNameOf } from "./service-names";

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
  definition: D,
  handlers: Partial<Record<MethodOf<D>, UntypedServiceImplementation[string]>>,
  close?: () => Promise<void>,
): ServiceBinding {
  const name = serviceNameOf(definition);
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

/** What a handler gets of its call besides the request: never the grpc-js call itself. */
export interface CallContext {
  /** Aborts when the client goes away (cancels, or its connection closes). */
  readonly signal: AbortSignal;
  /** The request's metadata (HTTP headers, through the gateway). */
  readonly metadata: Metadata;
  /** When the client stops waiting: a Date, or Infinity without a deadline. */
  readonly deadline: Deadline;
  /** Sends response headers before the response. */
  readonly sendMetadata: (metadata: Metadata) => void;
}

/** What of a grpc-js server call its context is made from, whatever kind of call it is. */
type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getDeadline" | "sendMetadata"> & Pick<NodeJS.EventEmitter, "once" | "off">;

/** What responses are written to: a server-streaming or a bidirectional call. */
interface ResponseSink<Res> {
  write(response: Res, callback: () => void): boolean;
}

/** The call's context; `done` drops its listeners once the handler has answered. */
function contextOf(call: AnyCall): { context: CallContext; done: () => void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  call.once("cancelled", abort);
  call.once("close", abort);
  const context: CallContext = { signal: controller.signal, metadata: call.metadata, deadline: call.getDeadline(), sendMetadata: (metadata) => call.sendMetadata(metadata) };
  return {
    context,
    done: () => {
      call.off("cancelled", abort);
      call.off("close", abort);
    },
  };
}

/** A unary handler from an async function; its DomainErrors become statuses with reasons. */
export function unary<Req, Res>(logger: Logger, fn: (request: Req, context: CallContext) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { context, done } = contextOf(call);
    void answer(logger, call.getPath(), () => fn(call.request, context), callback).finally(done);
  };
}

/**
 * A client-streaming handler from an async function given the requests as an async iterator,
 * read as the function takes them (a slow reader holds the client back); its result is the
 * response. A client that goes away aborts `context.signal`.
 */
export function clientStream<Req, Res>(logger: Logger, fn: (requests: AsyncIterator<Req>, context: CallContext) => Promise<Res>): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    const { context, done } = contextOf(call);
    const requests = (call as unknown as Readable).iterator({ destroyOnReturn: false }) as AsyncIterator<Req>;
    void answer(logger, call.getPath(), () => fn(requests, context), callback).finally(done);
  };
}

/** Calls back with what `fn` returns, or with its failure as a status with a reason. */
function answer<Res>(logger: Logger, path: string, fn: () => Promise<Res> | Res, callback: sendUnaryData<Res>): Promise<void> {
  return Promise.resolve()
    .then(fn)
    .then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err, logger, path)),
    );
}

/**
 * A server-streaming handler from a function returning the responses as an async iterable: each
 * is written as the client takes it (a slow reader slows the source), the stream ends when the
 * iterable does, and fails (once) when it throws. A client that goes away stops the iteration.
 * A function that returns a promise of the iterable opens the stream first: its failure is the
 * call's, and response headers go out once it has resolved, so a caller knows the stream was
 * accepted before its first response (a WebSocket waits for that to switch protocols).
 */
export function serverStream<Req, Res>(
  logger: Logger,
  fn: (request: Req, context: CallContext) => AsyncIterable<Res> | Iterable<Res> | Promise<AsyncIterable<Res> | Iterable<Res>>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { context, done } = contextOf(call);
    const streamed = Promise.resolve()
      // Boxed, or the chain would unwrap a promise and hide that the handler opened first.
      .then(() => ({ opened: fn(call.request, context) }))
      .then(async ({ opened }) => {
        const responses = await opened;
        if (opened instanceof Promise) call.sendMetadata(new Metadata());
        return writeAll(call, responses, context.signal);
      });
    void endStream(call, streamed, logger).finally(done);
  };
}

/** What ending a server-streaming or bidi call needs of it. */
interface StreamingCall {
  readonly cancelled: boolean;
  end(): void;
  emit(event: "error", err: unknown): boolean;
  getPath(): string;
}

/** Ends a streaming call once its responses are written, or fails it (once) with what went wrong. */
function endStream(call: StreamingCall, streamed: Promise<void>, logger: Logger): Promise<void> {
  return streamed.then(
    () => {
      call.end();
    },
    (err: unknown) => {
      if (!call.cancelled) call.emit("error", toServiceError(err, logger, call.getPath()));
    },
  );
}

/** For `serverStream`: opens a stream in a promise, so what `open` throws fails the call and headers follow its success. */
export function opening<T>(open: () => T | Promise<T>): Promise<T> {
  return Promise.resolve().then(open);
}

/**
 * A bidirectional handler from a function given the requests as an async iterable: it opens what
 * the first request asks for (its failure is the call's error, before any response), then returns
 * the responses, written as for `serverStream`. Response headers go out once it has opened, so
 * a caller knows the call was accepted before the first response. The requests end when the
 * client half-closes; a client that goes away aborts `context.signal`.
 */
export function bidiStream<Req, Res>(
  logger: Logger,
  fn: (requests: AsyncIterator<Req>, context: CallContext) => Promise<AsyncIterable<Res>>,
): handleBidiStreamingCall<Req, Res> {
  return (call) => {
    const { context, done } = contextOf(call);
    const streamed = Promise.resolve()
      // A stream's own iterator destroys it once the requests end, which would end the call:
      // replies must go on after the client's half-close.
      .then(() => fn((call as unknown as Readable).iterator({ destroyOnReturn: false }) as AsyncIterator<Req>, context))
      .then((responses) => {
        call.sendMetadata(new Metadata());
        return writeAll(call, responses, context.signal);
      });
    void endStream(call, streamed, logger).finally(done);
  };
}

/**
 * How many responses may be written and not yet taken by HTTP/2. grpc-js queues up to 16 messages
 * before `write` says to wait, so waiting for `drain` let a reader that stopped hold 16 responses
 * (16 MiB of a download) per call; two keep the pipe full without a backlog.
 */
const MAX_IN_FLIGHT = 2;

async function writeAll<Res>(call: ResponseSink<Res>, responses: AsyncIterable<Res> | Iterable<Res>, signal: AbortSignal): Promise<void> {
  const inFlight: Promise<void>[] = [];
  for await (const response of responses) {
    if (signal.aborted) return;
    inFlight.push(taken(call, response, signal));
    if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
  }
}

/**
 * Writes one response; resolves once HTTP/2 has taken it (its flow control lets it go), or the
 * client has gone, since grpc-js never calls back a write to a cancelled call.
 */
function taken<Res>(call: ResponseSink<Res>, response: Res, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const settle = (): void => {
      signal.removeEventListener("abort", settle);
      resolve();
    };
    signal.addEventListener("abort", settle);
    call.write(response, settle);
    if (signal.aborted) settle();
  });
}
