import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedHandleCall } from "@grpc/grpc-js";
import type { Readable } from "node:stream";
import { answersOnce, runCore, streamsRequests, type CallContext, type MethodCore, type Outcome, type ResponseSink } from "./method-cores";

/** What of a grpc-js server call its context is made from, whatever kind of call it is. */
type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getDeadline" | "sendMetadata" | "getPath"> & Pick<NodeJS.EventEmitter, "once" | "off">;

/** What of a grpc-js streaming call (server-streaming or bidirectional) its responses and end need. */
interface StreamingCall extends AnyCall {
  readonly cancelled: boolean;
  write(response: unknown, callback: () => void): boolean;
  end(): void;
  emit(event: "error", err: unknown): boolean;
}

/** The grpc-js handler running a method's core on the gRPC server. */
export function grpcHandler(core: MethodCore): UntypedHandleCall {
  const inputOf = (call: AnyCall): unknown => (streamsRequests(core) ? requestsOf(call) : (call as ServerUnaryCall<unknown, unknown>).request);
  if (answersOnce(core)) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      withContext(call, (context) => runCore(core, call.getPath(), inputOf(call), context, noSink).then((outcome) => answer(callback, outcome)));
    };
  }
  return (call: ServerWritableStream<unknown, unknown>) => {
    withContext(call, (context) => runCore(core, call.getPath(), inputOf(call), context, sinkOf(call)).then((outcome) => endStream(call, outcome)));
  };
}

/** A unary response needs no sink. */
const noSink: ResponseSink = { write: (_response, taken) => taken() };

/**
 * The requests of a client-streaming or bidi call. A stream's own iterator destroys it once the
 * requests end, which would end the call: replies must go on after the client's half-close.
 */
function requestsOf(call: object): AsyncIterator<unknown> {
  return (call as Readable).iterator({ destroyOnReturn: false });
}

function sinkOf(call: StreamingCall): ResponseSink {
  return { write: (response, taken) => void call.write(response, taken) };
}

/** Runs `work` with the call's context; the call's listeners go once it is done. */
function withContext(call: AnyCall, work: (context: CallContext) => Promise<void>): void {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  call.once("cancelled", abort);
  call.once("close", abort);
  const context: CallContext = { signal: controller.signal, metadata: call.metadata, deadline: call.getDeadline(), sendMetadata: (metadata) => call.sendMetadata(metadata) };
  void work(context).finally(() => {
    call.off("cancelled", abort);
    call.off("close", abort);
  });
}

function answer(callback: sendUnaryData<unknown>, outcome: Outcome): void {
  if (outcome.ok) callback(null, outcome.reply);
  else if (outcome.status) callback(outcome.status);
}

/** Ends a streaming call once its responses are written, or fails it (once) with what went wrong. */
function endStream(call: StreamingCall, outcome: Outcome): void {
  if (outcome.ok) call.end();
  else if (outcome.status && !call.cancelled) call.emit("error", outcome.status);
}
