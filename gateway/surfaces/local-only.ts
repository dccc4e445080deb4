import type { Middleware } from "koa";
import { isIP } from "node:net";
import { GatewayError } from "../transcoder/errors";

/** Whether a host name or address can only mean this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const name = bare.toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  if (isIP(name) === 6) return name === "::1" || name === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(name);
  return false;
}

function hostOfHeader(value: string): string {
  // "[::1]:19999", "localhost:19999", "127.0.0.1"
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  const colon = value.lastIndexOf(":");
  return colon >= 0 ? value.slice(0, colon) : value;
}

/**
 * Keeps an HTTP listener local: a page in a browser must not reach it, neither through a DNS name
 * rebound to 127.0.0.1 (the Host header gives it away, checked when `checkHost`) nor by a
 * cross-site request (Origin or Sec-Fetch-Site do, always checked).
 */
export function localOnly(checkHost: boolean): Middleware {
  return async (ctx, next) => {
    const host = ctx.get("Host");
    if (checkHost && host && !isLoopback(hostOfHeader(host))) {
      throw new GatewayError(403, "forbidden", `Host "${host}" is not a loopback name; this API only answers local clients`);
    }
    const origin = ctx.get("Origin");
    if (origin && !isLoopbackOrigin(origin)) {
      throw new GatewayError(403, "forbidden", `requests from origin "${origin}" are refused; this API only answers local clients`);
    }
    if (ctx.get("Sec-Fetch-Site") === "cross-site") {
      throw new GatewayError(403, "forbidden", "cross-site browser requests are refused");
    }
    await next();
  };
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && isLoopback(url.hostname);
  } catch {
    return false;
  }
}
