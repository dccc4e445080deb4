import type { Middleware } from "koa";
import { GatewayError } from "../transcoder/errors";

/**
 * A request with a body must say it is JSON: `Content-Type: application/json`, parameters such
 * as `charset` allowed. A page in a browser can send `text/plain`, form and multipart bodies to
 * any address without asking first, but not `application/json`, which needs a CORS preflight
 * this API never grants: so a body only a browser's simple request could carry is 415
 * `unsupported_media_type`, never read as JSON.
 */
export function jsonBodiesOnly(): Middleware {
  return async (ctx, next) => {
    if (hasBody(ctx.req.headers)) {
      const type = ctx.get("Content-Type");
      const media = (type.split(";")[0] ?? "").trim().toLowerCase();
      if (media !== "application/json") {
        const said = type ? `Content-Type "${type}"` : "no Content-Type";
        throw new GatewayError(415, "unsupported_media_type", `a request body must be application/json; this one has ${said}`);
      }
    }
    await next();
  };
}

/** HTTP/1.1: a body is there when Content-Length says more than 0, or Transfer-Encoding is set. */
function hasBody(headers: { readonly "content-length"?: string; readonly "transfer-encoding"?: string }): boolean {
  return headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? 0) > 0;
}
