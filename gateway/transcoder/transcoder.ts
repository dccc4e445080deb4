import { fromBinary, toBinary, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";
import type { CallOptions, Client, ClientReadableStream, Metadata, ServiceError } from "@grpc/grpc-js";
import type { Context, Middleware } from "koa";
import { PassThrough } from "node:stream";
import { readBody } from "./body";
import type { Contract } from "./descriptors";
import { fromCallError, GatewayError, type HttpError } from "./errors";
import { isObject, type JsonCodec } from "./json-codec";
import { deadlineOf, requestMetadata, responseHeaders } from "./metadata";
import { buildRequest } from "./request";
import { Router } from "./router";
import { HTTP_BODY, type Route } from "./routes";

export interface TranscoderOptions {
  readonly contract: Contract;
  readonly routes: readonly Route[];
  readonly codec: JsonCodec;
  /** The gRPC client calls go through; one per upstream target. */
  readonly upstream: () => Client;
  readonly maxBodyBytes: number;
  /** The limit for raw (google.api.HttpBody) bodies: uploads, the clipboard. */
  readonly maxUploadBytes: number;
  /** HTTP statuses for reasons whose status is not the one their gRPC code maps to. */
  readonly statusByReason: Readonly<Record<string, number>>;
  /** Request headers passed on as metadata under their own (lowercase) names. */
  readonly requestHeaders: readonly string[];
  /** Response metadata keys written as these header names instead of `Grpc-Metadata-<key>`. */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** How an error is written, as a whole response or as a stream's last line. */
  readonly renderError: (error: HttpError) => JsonValue;
}

const identity = (b: Buffer): Buffer => b;

/** The HTTP-to-gRPC transcoder: one Koa middleware serving every route of a surface. */
export function transcoder(options: TranscoderOptions): Middleware {
  const router = new Router(options.routes);
  return async (ctx) => {
    const match = router.match(ctx.method, ctx.path);
    if (match.kind === "not_found") throw new GatewayError(404, "not_found", `no route for ${ctx.method} ${ctx.path}`);
    if (match.kind === "method_not_allowed") {
      throw new GatewayError(405, "method_not_allowed", `${ctx.method} is not allowed on ${ctx.path}; it takes ${match.allow.join(", ")}`, {
        Allow: match.allow.join(", "),
      });
    }
    const { route, bindings } = match;
    const body = await readBody(ctx.req, route.rawBody ? options.maxUploadBytes : options.maxBodyBytes);
    const request = buildRequest(options.contract, options.codec, route, {
      bindings,
      query: new URLSearchParams(ctx.querystring),
      body,
      contentType: ctx.get("Content-Type") || undefined,
    });
    const argument = Buffer.from(toBinary(route.method.input, request));
    const metadata = requestMetadata(ctx.req.headers, options.requestHeaders);
    const callOptions: CallOptions = {};
    const deadline = deadlineOf(ctx.get("Grpc-Timeout") || undefined);
    if (deadline) callOptions.deadline = deadline;
    const client = options.upstream();
    if (route.serverStreaming) {
      const call = client.makeServerStreamRequest(route.grpcPath, identity, identity, argument, metadata, callOptions);
      await respondStream(ctx, options, route, call);
    } else {
      await respondUnary(ctx, options, route, client, argument, metadata, callOptions);
    }
  };
}

async function respondUnary(
  ctx: Context,
  options: TranscoderOptions,
  route: Route,
  client: Client,
  argument: Buffer,
  metadata: Metadata,
  callOptions: CallOptions,
): Promise<void> {
  let headerMetadata: Metadata | undefined;
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const call = client.makeUnaryRequest(route.grpcPath, identity, identity, argument, metadata, callOptions, (err, value) => {
      if (err) reject(callFailure(err, options));
      else resolve(value ?? Buffer.alloc(0));
    });
    call.on("metadata", (md) => (headerMetadata = md));
    cancelOnDisconnect(ctx, call);
  });
  if (headerMetadata) ctx.set(responseHeaders(headerMetadata, options.responseHeaders));
  const output = route.method.output;
  writeMessage(ctx, options, route, output, fromBinary(output, reply));
}

function isHttpBodyField(field: Route["responseBody"]): boolean {
  return field?.fieldKind === "message" && field.message.typeName === HTTP_BODY;
}

function writeMessage(ctx: Context, options: TranscoderOptions, route: Route, output: DescMessage, message: Message): void {
  if (output.typeName === HTTP_BODY) return writeHttpBody(ctx, message);
  const field = route.responseBody;
  if (field && isHttpBodyField(field)) {
    return writeHttpBody(ctx, (message as unknown as Record<string, Message | undefined>)[field.localName]);
  }
  const json = options.codec.encode(output, message);
  const value = field && isObject(json) ? json[options.codec.key(field)] : json;
  ctx.status = 200;
  ctx.type = "application/json";
  ctx.body = JSON.stringify(value ?? null);
}

interface HttpBodyShape {
  contentType: string;
  data: Uint8Array;
}

function writeHttpBody(ctx: Context, message: Message | undefined): void {
  const body = message as unknown as HttpBodyShape | undefined;
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
 * Server streaming as chunked newline-delimited JSON (`{"result": ...}` per message, a last
 * `{"error": ...}` on failure), or raw chunks for a stream of google.api.HttpBody. Nothing is
 * committed before the first message, so an immediate failure is still an ordinary error response.
 */
async function respondStream(ctx: Context, options: TranscoderOptions, route: Route, call: ClientReadableStream<Buffer>): Promise<void> {
  const output = route.method.output;
  const field = route.responseBody;
  const raw = output.typeName === HTTP_BODY || isHttpBodyField(field);
  /** The message, or its response_body field, as the part the client gets. */
  const part = (chunk: Buffer): { body?: HttpBodyShape; json?: JsonValue } => {
    const message = fromBinary(output, chunk);
    if (output.typeName === HTTP_BODY) return { body: message as unknown as HttpBodyShape };
    if (field && isHttpBodyField(field)) return { body: (message as unknown as Record<string, HttpBodyShape | undefined>)[field.localName] };
    const json = options.codec.encode(output, message);
    return { json: field && isObject(json) ? (json[options.codec.key(field)] ?? null) : json };
  };
  let headerMetadata: Metadata | undefined;
  call.on("metadata", (md) => (headerMetadata = md));
  cancelOnDisconnect(ctx, call);
  const first = await new Promise<Buffer | null>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      cleanup();
      call.pause();
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (err: ServiceError): void => {
      cleanup();
      reject(callFailure(err, options));
    };
    const cleanup = (): void => {
      call.off("data", onData);
      call.off("end", onEnd);
      call.off("error", onError);
    };
    call.on("data", onData);
    call.on("end", onEnd);
    call.on("error", onError);
  });

  if (headerMetadata) ctx.set(responseHeaders(headerMetadata, options.responseHeaders));
  const out = new PassThrough();
  const encode = (chunk: Buffer): Buffer | string => {
    const { body, json } = part(chunk);
    if (raw) return body ? Buffer.from(body.data) : Buffer.alloc(0);
    return `${JSON.stringify({ result: json ?? null })}\n`;
  };
  ctx.status = 200;
  if (raw) {
    ctx.set("Content-Type", (first && part(first).body?.contentType) || "application/octet-stream");
  } else {
    ctx.type = "application/x-ndjson";
  }
  ctx.body = out;
  if (first === null) {
    out.end();
    return;
  }
  out.write(encode(first));
  call.on("data", (chunk: Buffer) => {
    if (!out.write(encode(chunk))) {
      call.pause();
      out.once("drain", () => call.resume());
    }
  });
  call.on("end", () => out.end());
  call.on("error", (err: ServiceError) => {
    if (ctx.res.destroyed) return void out.end();
    if (!raw) out.write(`${JSON.stringify({ error: options.renderError(callFailure(err, options)) })}\n`);
    out.end();
  });
  call.resume();
}

function callFailure(err: ServiceError, options: TranscoderOptions): GatewayError {
  return fromCallError(err, options.statusByReason);
}

/** Cancels a call when its client goes away before the response is complete. */
function cancelOnDisconnect(ctx: Context, call: { cancel(): void }): void {
  ctx.res.once("close", () => {
    if (!ctx.res.writableFinished) call.cancel();
  });
}
