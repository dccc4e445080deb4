import type { Middleware } from "koa";
import { openApi } from "./documents";
import { localOnly } from "./local-only";
import { messageAndCode, messageAndCodeSchema } from "./error-dialects";
import type { Surface } from "./surface";

export interface HostApiOptions {
  readonly maxBodyBytes: number;
  readonly version: string;
}

/** GhostVM's connection lifecycle: one request, one response, then the server closes. */
const closeAfterResponse: Middleware = async (ctx, next) => {
  ctx.set("Connection", "close");
  await next();
};

/**
 * The per-VM Unix socket surface: the guest agent's routes with GhostVM's camelCase JSON and
 * `{"error", "code"}` errors, one request per connection.
 */
export function hostApiSurface(options: HostApiOptions): Surface {
  return {
    name: "host-api",
    services: ["ghostd.agent.v1.GuestAgent"],
    json: { protoNames: false },
    maxBodyBytes: options.maxBodyBytes,
    // GhostVM answers an exec that ran out of time with 408 Request Timeout.
    statusByReason: { exec_timeout: 408 },
    requestHeaders: ["x-clipboard-type"],
    responseHeaders: { "x-clipboard-type": "X-Clipboard-Type" },
    renderError: messageAndCode,
    // A Unix socket has no Host worth checking; a browser request relayed to it is still refused.
    before: [closeAfterResponse, localOnly(false)],
    documents: [
      openApi({
        title: "ghostd Host API",
        version: options.version,
        description: "The guest agent, one Unix socket per VM, one request per connection.",
        errorSchema: messageAndCodeSchema,
      }),
    ],
    server: { maxRequestsPerSocket: 1, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000 },
  };
}
