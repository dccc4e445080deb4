import type { JsonValue, Message } from "@bufbuild/protobuf";
import type { CallOptions, Client, ClientReadableStream, ClientUnaryCall, ClientWritableStream, Metadata, ServiceError } from "@grpc/grpc-js";
import type { Context, Middleware } from "koa";
import { bidiStreamCall, clientStreamCall, decodeReply, encodeRequest, firstReply, serverStreamCall, unaryCall, type UnaryCall } from "../transport/method-calls";
import { upgradeOf, type Upgrade } from "../transport/upgrades";
import { readBody } from "./body";
import { feedBody } from "./body-stream";
import type { Contract } from "./descriptors";
import { fromCallError, GatewayError, type HttpError } from "./errors";
import type { JsonCodec } from "./json-codec";
import { deadlineOf, requestMetadata, responseHeaders } from "./metadata";
import type { Bindings } from "./path-template";
import { buildRequest } from "./request";
import { Router } from "./router";
import { isRawReply, writeNdjsonStream, writeRawStream, writeReply } from "./response";
import type { Route } from "./routes";
import { openingMessage } from "./frames";
import { headerParameters } from "./header-fields";
import { carryBytes, switchingProtocols, upgradeProtocol } from "./tunnel";
import { callOpened, carry, checkHandshake, wantsWebSocket } from "./websocket";

/** How much of a request body is read, by the kind of body a route takes. */
export interface BodyLimits {
  readonly maxBodyBytes: number;
  /** The limit for raw (google.api.HttpBody) bodies: uploads, the clipboard. */
  readonly maxUploadBytes: number;
  /** How long a body may pause between bytes before the request is 408 (0: no bound). */
  readonly bodyIdleMs: number;
}

/** What differs between surfaces in how they speak HTTP around the same routes. */
export interface HttpDialect {
  /** HTTP statuses for reasons whose status is not the one their gRPC code maps to. */
  readonly statusByReason: Readonly<Record<string, number>>;
  /** Request headers passed on as metadata under their own (lowercase) names. */
  readonly requestHeaders: readonly string[];
  /** Response metadata keys written as these header names instead of `Grpc-Metadata-<key>`. */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** How an error is written, as a whole response or as a stream's last line. */
  readonly renderError: (error: HttpError) => JsonValue;
}

export interface TranscoderOptions extends BodyLimits, HttpDialect {
  readonly contract: Contract;
  readonly routes: readonly Route[];
  readonly codec: JsonCodec;
  /** The gRPC client calls go through; one per upstream target. */
  readonly upstream: () => Client;
}

/** The HTTP-to-gRPC transcoder: one Koa middleware serving every route of a surface. */
export function transcoder(options: TranscoderOptions): Middleware {
  const router = new Router(options.routes);
  return async (ctx) => {
    const { route, bindings } = matchRoute(router, ctx);
    const upgrade = upgradeOf(ctx.req);
    if (route.webSocket && upgrade && wantsWebSocket(ctx.req)) return openWebSocket(ctx, options, route, bindings, upgrade);
    const protocol = route.streamUpgrade && upgradeOf(ctx.req) ? upgradeProtocol(ctx.req, route.streamUpgrade) : undefined;
    if (upgrade && protocol) return openTunnel(ctx, options, route, bindings, upgrade, protocol);
    if (route.upgradeOnly) throw upgradeRequired(ctx, route);
    if (route.bodyStream) return streamBody(ctx, options, route, bindings);
    const argument = encodeRequest(route.method, await requestOf(ctx, options, route, bindings));
    const metadata = requestMetadata(ctx.req.headers, options.requestHeaders);
    const callOptions = callOptionsOf(ctx);
    const client = options.upstream();
    if (route.serverStreaming) {
      await respondStream(ctx, options, route, serverStreamCall(client, route.method, argument, metadata, callOptions));
    } else {
      await respondUnary(ctx, options, route, unaryCall(client, route.method, argument, metadata, callOptions));
    }
  };
}

/**
 * A WebSocket on a streaming route: the upgrade request builds the (first) request, the call must
 * open before the handshake completes, so refusals are ordinary error responses; then the socket
 * carries the call.
 */
async function openWebSocket(ctx: Context, options: TranscoderOptions, route: Route, bindings: Bindings, upgrade: Upgrade): Promise<void> {
  checkHandshake(ctx.req);
  const request = encodeRequest(route.method, openingMessage(route, await requestOf(ctx, options, route, bindings)));
  const metadata = requestMetadata(ctx.req.headers, options.requestHeaders);
  const client = options.upstream();
  let call: ClientReadableStream<Buffer>;
  if (route.clientStreaming) {
    const duplex = bidiStreamCall(client, route.method, metadata, callOptionsOf(ctx));
    duplex.write(request);
    call = duplex;
  } else {
    call = serverStreamCall(client, route.method, request, metadata, callOptionsOf(ctx));
  }
  upgrade.socket.once("close", () => call.cancel());
  await callOpened(call).catch((err: unknown) => {
    throw callFailure(err as ServiceError, options);
  });
  ctx.respond = false;
  const ws = await upgrade.acceptWebSocket().catch(() => undefined);
  if (!ws) {
    call.cancel();
    return;
  }
  const renderError = (err: GatewayError | ServiceError): JsonValue => options.renderError(err instanceof GatewayError ? err : callFailure(err, options));
  carry(ws, call, { contract: options.contract, codec: options.codec, route, renderError });
}

function upgradeRequired(ctx: Context, route: Route): GatewayError {
  const protocols = route.streamUpgrade?.protocols ?? ["websocket"];
  const how = protocols.map((p) => `Upgrade: ${p}`).join(" or ");
  return new GatewayError(426, "upgrade_required", `${ctx.path} switches protocols: send GET with Connection: Upgrade and ${how}`, { Upgrade: protocols.join(", ") });
}

/**
 * A raw byte stream behind an HTTP upgrade: headers and query open the call, which must be under
 * way before the 101 (a port with nothing listening is still an HTTP error); then bytes both ways.
 */
async function openTunnel(ctx: Context, options: TranscoderOptions, route: Route, bindings: Bindings, upgrade: Upgrade, protocol: string): Promise<void> {
  const binding = route.streamUpgrade;
  if (!binding) return;
  const query = headerParameters(ctx.req, binding.headers, new URLSearchParams(ctx.querystring));
  const built = buildRequest(options.contract, options.codec, route, { bindings, query, body: Buffer.alloc(0), contentType: undefined });
  const call = bidiStreamCall(options.upstream(), route.method, requestMetadata(ctx.req.headers, options.requestHeaders), callOptionsOf(ctx));
  call.write(encodeRequest(route.method, openingMessage(route, built)));
  upgrade.socket.once("close", () => call.cancel());
  await callOpened(call).catch((err: unknown) => {
    throw callFailure(err as ServiceError, options);
  });
  ctx.respond = false;
  upgrade.socket.write(switchingProtocols(protocol));
  carryBytes(upgrade.socket, upgrade.head, call, route, binding);
}

/**
 * A request body streamed into a client-streaming call: headers, path and query open it before a
 * byte of the body is read, the body follows as it arrives, and the reply is the response. A call
 * that answers (or fails) before the body has ended stops the reading; a client that stalls or
 * goes away cancels the call.
 */
async function streamBody(ctx: Context, options: TranscoderOptions, route: Route, bindings: Bindings): Promise<void> {
  const binding = route.bodyStream;
  if (!binding) return;
  const query = headerParameters(ctx.req, binding.headers, new URLSearchParams(ctx.querystring));
  const built = buildRequest(options.contract, options.codec, route, { bindings, query, body: Buffer.alloc(0), contentType: undefined });
  const { call, reply } = clientStreamCall(options.upstream(), route.method, requestMetadata(ctx.req.headers, options.requestHeaders), callOptionsOf(ctx));
  const headers = followCall(ctx, call);
  call.write(encodeRequest(route.method, openingMessage(route, built)));
  const answered = new AbortController();
  const fed = feedBody(ctx.req, call, route, binding, options.bodyIdleMs, answered.signal);
  const settled = reply.then(
    () => answered.abort(),
    () => answered.abort(),
  );
  await fed.catch((err: unknown) => {
    call.cancel();
    throw err;
  });
  await settled;
  const bytes = await reply.catch((err: unknown) => {
    throw callFailure(err as ServiceError, options);
  });
  copyHeaders(ctx, options, headers());
  writeReply(ctx, route, options.codec, decodeReply(route.method, bytes));
}

function matchRoute(router: Router, ctx: Context): { route: Route; bindings: Bindings } {
  const match = router.match(ctx.method, ctx.path);
  if (match.kind === "not_found") throw new GatewayError(404, "not_found", `no route for ${ctx.method} ${ctx.path}`);
  if (match.kind === "method_not_allowed") {
    throw new GatewayError(405, "method_not_allowed", `${ctx.method} is not allowed on ${ctx.path}; it takes ${match.allow.join(", ")}`, {
      Allow: match.allow.join(", "),
    });
  }
  return match;
}

async function requestOf(ctx: Context, options: TranscoderOptions, route: Route, bindings: Bindings): Promise<Message> {
  const body = await readBody(ctx.req, route.rawBody ? options.maxUploadBytes : options.maxBodyBytes, options.bodyIdleMs);
  return buildRequest(options.contract, options.codec, route, {
    bindings,
    query: new URLSearchParams(ctx.querystring),
    body,
    contentType: ctx.get("Content-Type") || undefined,
  });
}

function callOptionsOf(ctx: Context): CallOptions {
  const callOptions: CallOptions = {};
  const deadline = deadlineOf(ctx.get("Grpc-Timeout") || undefined);
  if (deadline) callOptions.deadline = deadline;
  return callOptions;
}

async function respondUnary(ctx: Context, options: TranscoderOptions, route: Route, { call, reply }: UnaryCall): Promise<void> {
  const headers = followCall(ctx, call);
  const bytes = await reply.catch((err: unknown) => {
    throw callFailure(err as ServiceError, options);
  });
  copyHeaders(ctx, options, headers());
  writeReply(ctx, route, options.codec, decodeReply(route.method, bytes));
}

/**
 * Nothing is committed before the call is under way (its first message; for NDJSON, also headers a
 * service sent once it opened), so an immediate failure is still an ordinary error response. A raw
 * stream waits for its first message, whose content type is the response's.
 */
async function respondStream(ctx: Context, options: TranscoderOptions, route: Route, call: ClientReadableStream<Buffer>): Promise<void> {
  const headers = followCall(ctx, call);
  const failed = (err: unknown): never => {
    throw callFailure(err as ServiceError, options);
  };
  const renderError = (err: ServiceError): JsonValue => options.renderError(callFailure(err, options));
  if (isRawReply(route)) {
    const first = await firstReply(call).catch(failed);
    copyHeaders(ctx, options, headers());
    return writeRawStream(ctx, route, options.codec, call, first);
  }
  await callOpened(call).catch(failed);
  copyHeaders(ctx, options, headers());
  writeNdjsonStream(ctx, route, options.codec, call, renderError);
}

/**
 * Follows a call on behalf of the HTTP response: keeps its response headers (metadata) when they
 * come, and cancels it when the client goes away before the response is complete.
 */
function followCall(ctx: Context, call: ClientUnaryCall | ClientReadableStream<Buffer> | ClientWritableStream<Buffer>): () => Metadata | undefined {
  let headerMetadata: Metadata | undefined;
  call.on("metadata", (md: Metadata) => (headerMetadata = md));
  ctx.res.once("close", () => {
    if (!ctx.res.writableFinished) call.cancel();
  });
  return () => headerMetadata;
}

function copyHeaders(ctx: Context, options: TranscoderOptions, metadata: Metadata | undefined): void {
  if (metadata) ctx.set(responseHeaders(metadata, options.responseHeaders));
}

function callFailure(err: ServiceError, options: TranscoderOptions): GatewayError {
  return fromCallError(err, options.statusByReason);
}
