import type { JsonValue, Message } from "@bufbuild/protobuf";
import type { ClientDuplexStream, ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import type { IncomingMessage } from "node:http";
import type { RawData, WebSocket } from "ws";
import { decodeReply, encodeRequest } from "../transport/method-calls";
import { GatewayError } from "./errors";
import { errorFrame, frameToRequest, replyToFrames, type Frame } from "./frames";
import type { JsonCodec } from "./json-codec";
import type { Contract } from "./descriptors";
import type { Route } from "./routes";

type StreamCall = ClientReadableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>;

/** Whether a request asks for a WebSocket, whatever else it asks. */
export function wantsWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? "").toLowerCase().split(/\s*,\s*/).includes("websocket");
}

/** RFC 6455's handshake checks, made before a call is opened: a refused handshake answers in the surface's JSON. */
export function checkHandshake(req: IncomingMessage): void {
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !/^[+/0-9A-Za-z]{22}==$/.test(key)) {
    throw new GatewayError(400, "bad_handshake", "a WebSocket upgrade needs Sec-WebSocket-Key: 16 random bytes in base64");
  }
  if (req.headers["sec-websocket-version"] !== "13") {
    throw new GatewayError(426, "bad_handshake", "only WebSocket version 13 is spoken", { "Sec-WebSocket-Version": "13" });
  }
}

/**
 * Resolves once the call is under way: its headers came (a service sends them once it has
 * opened), or a first reply (put back, to be read first), or its end. Rejects with the call's
 * failure. The call is left paused.
 */
export function callOpened(call: StreamCall): Promise<void> {
  // Whoever listens later, a failure never goes unheard: an unheard 'error' would end the daemon.
  call.on("error", () => undefined);
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void): void => {
      call.pause();
      call.off("metadata", onMetadata);
      call.off("data", onData);
      call.off("end", onEnd);
      call.off("error", onError);
      outcome();
    };
    const onMetadata = (): void => settle(resolve);
    const onData = (chunk: Buffer): void =>
      settle(() => {
        call.unshift(chunk);
        resolve();
      });
    const onEnd = (): void => settle(resolve);
    const onError = (err: ServiceError): void => settle(() => reject(err));
    call.on("metadata", onMetadata);
    call.on("data", onData);
    call.on("end", onEnd);
    call.on("error", onError);
  });
}

export interface SessionOptions {
  readonly contract: Contract;
  readonly codec: JsonCodec;
  readonly route: Route;
  /** How a failure is written into a frame, in the surface's dialect. */
  readonly renderError: (error: GatewayError | ServiceError) => JsonValue;
}

/** Replies written to the socket and not yet flushed before the call is paused: enough to keep the pipe full. */
const MAX_UNFLUSHED = 4;
/** A close reason is at most 123 bytes (RFC 6455 5.5). */
const MAX_REASON = 120;

/**
 * Carries one call over one WebSocket until either ends: replies become frames as the socket takes
 * them (a slow reader slows the call), client frames become requests as the call takes them. The
 * call ending closes with 1000; failing, with its error frame and 1011. The socket closing
 * cancels the call.
 */
export function carry(ws: WebSocket, call: StreamCall, options: SessionOptions): void {
  let ended = false;
  sendReplies(ws, call, options, () => (ended = true));
  if ("write" in call) takeFrames(ws, call, options);
  else ws.on("message", () => send(ws, errorFrame(options.route, options.renderError(new GatewayError(400, "invalid_frame", "this WebSocket takes no messages from the client")))));
  ws.once("close", () => {
    if (!ended) call.cancel();
  });
  ws.on("error", () => ws.terminate());
}

function sendReplies(ws: WebSocket, call: StreamCall, options: SessionOptions, onEnd: () => void): void {
  let unflushed = 0;
  const flushed = (): void => {
    unflushed -= 1;
    if (unflushed < MAX_UNFLUSHED && call.isPaused()) call.resume();
  };
  const forward = (chunk: Buffer): void => {
    for (const frame of replyToFrames(options.codec, options.route, decodeReply(options.route.method, chunk))) {
      unflushed += 1;
      ws.send(frame.data, { binary: frame.binary }, flushed);
    }
    if (unflushed >= MAX_UNFLUSHED) call.pause();
  };
  call.on("data", forward);
  const finish = (): void => {
    onEnd();
    ws.close(1000);
  };
  // A call that ended before the handshake completed has no 'end' left to emit.
  if (call.readableEnded) return finish();
  call.on("end", finish);
  call.on("error", (err: ServiceError) => {
    onEnd();
    if (ws.readyState !== ws.OPEN) return;
    const rendered = options.renderError(err);
    send(ws, errorFrame(options.route, rendered));
    ws.close(1011, err.details.slice(0, MAX_REASON));
  });
  call.resume();
}

function takeFrames(ws: WebSocket, call: ClientDuplexStream<Buffer, Buffer>, options: SessionOptions): void {
  ws.on("message", (data: RawData, binary: boolean) => {
    let request: Message;
    try {
      request = frameToRequest(options.contract, options.codec, options.route, { data: toBuffer(data), binary });
    } catch (err) {
      const refusal = err instanceof GatewayError ? err : new GatewayError(400, "invalid_frame", (err as Error).message);
      return send(ws, errorFrame(options.route, options.renderError(refusal)));
    }
    if (!call.write(encodeRequest(options.route.method, request))) {
      ws.pause();
      call.once("drain", () => ws.resume());
    }
  });
}

function send(ws: WebSocket, frame: Frame): void {
  if (ws.readyState === ws.OPEN) ws.send(frame.data, { binary: frame.binary });
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
