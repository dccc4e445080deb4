import type { JsonValue, Message } from "@bufbuild/protobuf";
import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import type { Context } from "koa";
import { PassThrough } from "node:stream";
import { decodeReply } from "../transport/method-calls";
import { isObject, type JsonCodec } from "./json-codec";
import { HTTP_BODY, isHttpBodyField, type Route } from "./routes";

interface HttpBodyShape {
  contentType: string;
  data: Uint8Array;
}

/** What of a reply the HTTP client gets: raw bytes of a google.api.HttpBody, or JSON. */
type ReplyPart = { readonly body: HttpBodyShape | undefined } | { readonly json: JsonValue };

/** Whether a route answers raw bytes: its reply, or the reply's response_body field, is a google.api.HttpBody. */
export function isRawReply(route: Route): boolean {
  return route.method.output.typeName === HTTP_BODY || isHttpBodyField(route.responseBody);
}

/** The reply, or its response_body field, as the part the client gets. */
function replyPart(route: Route, codec: JsonCodec, message: Message): ReplyPart {
  const output = route.method.output;
  const field = route.responseBody;
  if (output.typeName === HTTP_BODY) return { body: message as unknown as HttpBodyShape };
  if (field && isHttpBodyField(field)) return { body: (message as unknown as Record<string, HttpBodyShape | undefined>)[field.localName] };
  const json = codec.encode(output, message);
  return { json: (field && isObject(json) ? json[codec.key(field)] : json) ?? null };
}

/** A unary reply as the whole response. */
export function writeReply(ctx: Context, route: Route, codec: JsonCodec, message: Message): void {
  const part = replyPart(route, codec, message);
  if ("body" in part) return writeHttpBody(ctx, part.body);
  ctx.status = 200;
  // What Koa's `type` setter gives, without its MIME lookup on every reply.
  ctx.set("Content-Type", "application/json; charset=utf-8");
  ctx.body = JSON.stringify(part.json);
}

function writeHttpBody(ctx: Context, body: HttpBodyShape | undefined): void {
  // Nothing at all, not even a content type, is "no content".
  if (!body || (body.data.length === 0 && !body.contentType)) {
    ctx.status = 204;
    ctx.body = null;
    return;
  }
  ctx.status = 200;
  // Set as given: Koa's `type` would add a charset the service did not choose.
  ctx.set("Content-Type", body.contentType || "application/octet-stream");
  ctx.body = Buffer.from(body.data.buffer, body.data.byteOffset, body.data.byteLength);
}

/**
 * A stream of google.api.HttpBody as raw chunks, its content type the first one's. Called once the
 * first reply is in (null: the stream ended without one), so that a call failing at once is still
 * an ordinary error response; a later failure can only cut the body short.
 */
export function writeRawStream(ctx: Context, route: Route, codec: JsonCodec, call: ClientReadableStream<Buffer>, first: Buffer | null): void {
  const bytes = (chunk: Buffer): Buffer => {
    const part = replyPart(route, codec, decodeReply(route.method, chunk));
    return "body" in part && part.body ? Buffer.from(part.body.data) : Buffer.alloc(0);
  };
  const out = new PassThrough();
  ctx.status = 200;
  ctx.set("Content-Type", (first && firstContentType(route, codec, first)) || "application/octet-stream");
  ctx.body = out;
  if (first === null) return void out.end();
  out.write(bytes(first));
  pipeReplies(call, out, bytes, () => out.end());
}

/** Replies into `out` as they come, the call paused while `out` is full. */
function pipeReplies(call: ClientReadableStream<Buffer>, out: PassThrough, encode: (chunk: Buffer) => Buffer | string, onError: (err: ServiceError) => void): void {
  call.on("data", (chunk: Buffer) => {
    if (!out.write(encode(chunk))) {
      call.pause();
      out.once("drain", () => call.resume());
    }
  });
  call.on("end", () => out.end());
  call.on("error", onError);
  call.resume();
}

/** A raw stream's content type, which its first google.api.HttpBody names. */
function firstContentType(route: Route, codec: JsonCodec, first: Buffer): string | undefined {
  const part = replyPart(route, codec, decodeReply(route.method, first));
  return "body" in part ? part.body?.contentType : undefined;
}

/**
 * Server streaming as chunked newline-delimited JSON, once the call is under way: `{"result": ...}`
 * per message, a last `{"error": ...}` on failure. The call may have ended already.
 */
export function writeNdjsonStream(ctx: Context, route: Route, codec: JsonCodec, call: ClientReadableStream<Buffer>, renderError: (err: ServiceError) => JsonValue): void {
  const out = new PassThrough();
  ctx.status = 200;
  ctx.type = "application/x-ndjson";
  ctx.body = out;
  if (call.readableEnded) return void out.end();
  // The 200 goes now, not with the first line: a quiet stream's client learns it is subscribed.
  ctx.res.flushHeaders();
  const line = (chunk: Buffer): string => {
    const part = replyPart(route, codec, decodeReply(route.method, chunk));
    return `${JSON.stringify({ result: "json" in part ? part.json : null })}\n`;
  };
  pipeReplies(call, out, line, (err) => {
    if (!ctx.res.destroyed) out.write(`${JSON.stringify({ error: renderError(err) })}\n`);
    out.end();
  });
}
