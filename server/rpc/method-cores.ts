import { Metadata, type Deadline, type ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { toServiceError } from "./errors";

/** What a handler gets of its call besides the request: never the transport's call itself. */
export interface CallContext {
  /** Aborts when the client goes away (cancels, its deadline passes, or its connection closes). */
  readonly signal: AbortSignal;
  /** The request's metadata (HTTP headers, through the gateway). */
  readonly metadata: Metadata;
  /** When the client stops waiting: a Date, or Infinity without a deadline. */
  readonly deadline: Deadline;
  /** Sends response headers before the response. */
  readonly sendMetadata: (metadata: Metadata) => void;
}

/** How a call ended: with its reply (none for a stream), or with the status to fail it with; none when the client had gone. */
export type Outcome = { readonly ok: true; readonly reply?: unknown } | { readonly ok: false; readonly status: Partial<ServiceError> | undefined };

/** Where a streaming method's responses go; `taken` once the transport has taken one, or the client has gone. */
export interface ResponseSink {
  write(response: unknown, taken: () => void): void;
}

type Run<In> = (path: string, input: In, context: CallContext, sink: ResponseSink) => Promise<Outcome>;

/**
 * A method as its service implements it, apart from any transport: the gRPC server and the
 * in-process channel both run it, so the two cannot differ in what a call does. Its input is the
 * request, or the requests as they arrive; responses of a stream go to the sink.
 */
export type MethodCore =
  | { readonly kind: "unary" | "server_streaming"; readonly run: Run<unknown> }
  | { readonly kind: "client_streaming" | "bidi_streaming"; readonly run: Run<AsyncIterator<unknown>> };

/** Whether a method's requests stream in (client streaming, bidi) rather than arrive as one. */
export function streamsRequests(core: MethodCore): core is Extract<MethodCore, { kind: "client_streaming" | "bidi_streaming" }> {
  return core.kind === "client_streaming" || core.kind === "bidi_streaming";
}

/** Whether a method answers with one reply (unary, client streaming) rather than a stream. */
export function answersOnce(core: MethodCore): boolean {
  return core.kind === "unary" || core.kind === "client_streaming";
}

/** Runs a method on its input: the request, or, when requests stream in, their iterator. */
export function runCore(core: MethodCore, path: string, input: unknown, context: CallContext, sink: ResponseSink): Promise<Outcome> {
  return streamsRequests(core) ? core.run(path, input as AsyncIterator<unknown>, context, sink) : core.run(path, input, context, sink);
}

/** A unary method from an async function; its DomainErrors become statuses with reasons. */
export function unaryCore(logger: Logger, fn: (request: never, context: CallContext) => unknown): MethodCore {
  return { kind: "unary", run: (path, request, context) => replyOf(logger, path, () => fn(request as never, context)) };
}

/**
 * A client-streaming method from an async function given the requests as an async iterator, read
 * as the function takes them (a slow reader holds the client back); its result is the response.
 */
export function clientStreamCore(logger: Logger, fn: (requests: AsyncIterator<never>, context: CallContext) => Promise<unknown>): MethodCore {
  return { kind: "client_streaming", run: (path, requests, context) => replyOf(logger, path, () => fn(requests as AsyncIterator<never>, context)) };
}

function replyOf(logger: Logger, path: string, fn: () => unknown): Promise<Outcome> {
  return Promise.resolve()
    .then(fn)
    .then(
      (reply): Outcome => ({ ok: true, reply }),
      (err: unknown): Outcome => ({ ok: false, status: toServiceError(err, logger, path) }),
    );
}

type Responses = AsyncIterable<unknown> | Iterable<unknown>;

/**
 * A server-streaming method from a function returning the responses as an async iterable: each
 * is written as the client takes it (a slow reader slows the source), the stream ends when the
 * iterable does, and fails (once) when it throws. A client that goes away stops the iteration.
 * A function that returns a promise of the iterable opens the stream first: its failure is the
 * call's, and response headers go out once it has resolved, so a caller knows the stream was
 * accepted before its first response (a WebSocket waits for that to switch protocols).
 */
export function serverStreamCore(logger: Logger, fn: (request: never, context: CallContext) => Responses | Promise<Responses>): MethodCore {
  return {
    kind: "server_streaming",
    run: (path, request, context, sink) => {
      const streamed = Promise.resolve()
        // Boxed, or the chain would unwrap a promise and hide that the handler opened first.
        .then(() => ({ opened: fn(request as never, context) }))
        .then(async ({ opened }) => {
          const responses = await opened;
          if (opened instanceof Promise) context.sendMetadata(new Metadata());
          return writeAll(sink, responses, context.signal);
        });
      return streamOutcome(logger, path, streamed, context.signal);
    },
  };
}

/**
 * A bidirectional method from a function given the requests as an async iterator: it opens what
 * the first request asks for (its failure is the call's error, before any response), then returns
 * the responses, written as for `serverStreamCore`. Response headers go out once it has opened, so
 * a caller knows the call was accepted before the first response. The requests end when the
 * client half-closes; a client that goes away aborts `context.signal`.
 */
export function bidiStreamCore(logger: Logger, fn: (requests: AsyncIterator<never>, context: CallContext) => Promise<Responses>): MethodCore {
  return {
    kind: "bidi_streaming",
    run: (path, requests, context, sink) => {
      const streamed = Promise.resolve()
        .then(() => fn(requests as AsyncIterator<never>, context))
        .then((responses) => {
          context.sendMetadata(new Metadata());
          return writeAll(sink, responses, context.signal);
        });
      return streamOutcome(logger, path, streamed, context.signal);
    },
  };
}

/** A stream's end: fine once its responses are written; its failure as a status, unless the client has gone. */
function streamOutcome(logger: Logger, path: string, streamed: Promise<void>, signal: AbortSignal): Promise<Outcome> {
  return streamed.then(
    (): Outcome => ({ ok: true }),
    (err: unknown): Outcome => ({ ok: false, status: signal.aborted ? undefined : toServiceError(err, logger, path) }),
  );
}

/** A method that fails every call with the same status, whatever kind it is. */
export function failingCore(requestStream: boolean, responseStream: boolean, status: Partial<ServiceError>): MethodCore {
  const run = (): Promise<Outcome> => Promise.resolve({ ok: false, status });
  if (requestStream) return { kind: responseStream ? "bidi_streaming" : "client_streaming", run };
  return { kind: responseStream ? "server_streaming" : "unary", run };
}

/**
 * How many responses may be written and not yet taken by the transport. grpc-js queues up to 16
 * messages before `write` says to wait, so waiting for `drain` let a reader that stopped hold 16
 * responses (16 MiB of a download) per call; two keep the pipe full without a backlog.
 */
const MAX_IN_FLIGHT = 2;

async function writeAll(sink: ResponseSink, responses: Responses, signal: AbortSignal): Promise<void> {
  const inFlight: Promise<void>[] = [];
  for await (const response of responses) {
    if (signal.aborted) return;
    inFlight.push(taken(sink, response, signal));
    if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
  }
}

/** Writes one response; resolves once the transport has taken it, or the client has gone (a transport never calls back a write to a cancelled call). */
function taken(sink: ResponseSink, response: unknown, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const settle = (): void => {
      signal.removeEventListener("abort", settle);
      resolve();
    };
    signal.addEventListener("abort", settle);
    sink.write(response, settle);
    if (signal.aborted) settle();
  });
}
