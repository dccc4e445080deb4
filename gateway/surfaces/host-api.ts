import type { Middleware } from "koa";
import { GUEST_AGENT } from "../../server/rpc/service-names";
import { messageAndCode, messageAndCodeSchema } from "./error-dialects";
import { localOnly } from "./local-only";
import { deploySurface, type Surface, type SurfaceDescription } from "./surface";

export interface HostApiOptions {
  readonly maxBodyBytes: number;
  /** The limit for uploads and the clipboard, which arrive as raw bytes. */
  readonly maxUploadBytes: number;
  /** How long a client may take over its headers, and pause while sending a body. */
  readonly clientTimeoutMs: number;
  readonly version: string;
}

/** GhostVM's connection lifecycle: one request, one response, then the server closes. */
const closeAfterResponse: Middleware = async (ctx, next) => {
  ctx.set("Connection", "close");
  await next();
};

/** `POST /api/v1/exec?stream=1`, or with `Accept: application/x-ndjson`, is the streaming exec. */
const streamingExec: Middleware = async (ctx, next) => {
  const wantsStream = ctx.query.stream === "1" || ctx.query.stream === "true" || /application\/x-ndjson/.test(ctx.get("Accept"));
  if (ctx.method === "POST" && ctx.path === "/api/v1/exec" && wantsStream) ctx.path = "/api/v1/exec/stream";
  await next();
};

/**
 * The per-VM Unix socket surface: the guest agent's routes with GhostVM's camelCase JSON and
 * `{"error", "code"}` errors, one request per connection.
 */
export const hostApi: SurfaceDescription = {
  name: "host-api",
  services: [GUEST_AGENT],
  json: { protoNames: false },
  // GhostVM answers an exec that ran out of time with 408 Request Timeout, and a tunnel that
  // cannot reach its guest port with 502 Bad Gateway.
  statusByReason: { exec_timeout: 408, tunnel_refused: 502, vsock_unavailable: 502, no_space: 507 },
  requestHeaders: ["x-clipboard-type"],
  responseHeaders: { "x-clipboard-type": "X-Clipboard-Type", "content-disposition": "Content-Disposition", "x-permissions": "X-Permissions" },
  renderError: messageAndCode,
  indexes: [],
  openApi: {
    title: "ghostd Host API",
    description: "The guest agent, one Unix socket per VM, one request per connection.",
    // Clients send to the socket (`curl --unix-socket <sock> http://localhost/...`); the host in
    // the URL is not looked at.
    servers: [{ url: "http://localhost", description: "Through the VM's Unix socket, `<host-api-dir>/<vm>.GhostVM.sock`" }],
    errorSchema: messageAndCodeSchema,
    errorStatuses: [
      { status: 400, description: "A bad request: invalid JSON, a missing field, a bad value" },
      { status: 403, description: "Refused: a relayed browser request, or a path the agent may not touch" },
      { status: 404, description: "No such file, app or route" },
      { status: 408, description: "`exec_timeout`, or a client too slow to send its request" },
      { status: 413, description: "`body_too_large`", withBodyOnly: true },
      { status: 500, description: "Another failure" },
      { status: 507, description: "`no_space`: the guest's file system is full" },
      { status: 503, description: "`unavailable`: the guest agent cannot be reached (`\"status\": \"unreachable\"`)" },
    ],
  },
};

export function hostApiSurface(options: HostApiOptions): Surface {
  return deploySurface(hostApi, {
    maxBodyBytes: options.maxBodyBytes,
    maxUploadBytes: options.maxUploadBytes,
    bodyIdleMs: options.clientTimeoutMs,
    version: options.version,
    // A Unix socket has no Host worth checking; a browser request relayed to it is still refused.
    // No browser can connect to a socket, so bodies need no JSON type: uploads and the
    // clipboard are raw bytes of any type, and `curl -d` sends a form type.
    before: [closeAfterResponse, localOnly({ checkHost: false }), streamingExec],
    // A silent or stalled client is answered 408 and dropped once the timeout passes; an upload
    // that keeps coming is never cut, however large, so there is no whole-request bound.
    server: { maxRequestsPerSocket: 1, headersTimeoutMs: options.clientTimeoutMs, requestTimeoutMs: 0 },
  });
}
