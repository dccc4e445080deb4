import type { Context, Middleware } from "koa";
import { isIP, type Socket } from "node:net";
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

export interface LocalOnlyOptions {
  /**
   * Whether `Host` must name the listener the request came in on. Off under `--allow-remote`,
   * where clients reach it by whatever name the network gives it, and on a Unix socket, which
   * has no name a client could spell.
   */
  readonly checkHost: boolean;
}

/**
 * Keeps an HTTP listener to its own clients. A page in a browser must not reach it: not through
 * a DNS name rebound to 127.0.0.1, nor another loopback name or address (`Host` gives those
 * away), nor by a request from another origin, a project's web service on another loopback port
 * included (`Origin`, `Sec-Fetch-Site`). No CORS header is ever sent, so a browser lets no other
 * origin read an answer either.
 */
export function localOnly(options: LocalOnlyOptions): Middleware {
  return async (ctx, next) => {
    const host = ctx.get("Host");
    if (options.checkHost) checkHost(host, ctx);
    const origin = ctx.get("Origin");
    if (origin && origin !== ownOrigin(host)) {
      throw new GatewayError(403, "forbidden", `requests from origin "${origin}" are refused; this API answers its own origin only`);
    }
    const site = ctx.get("Sec-Fetch-Site");
    if (site && site !== "same-origin" && site !== "none") {
      throw new GatewayError(403, "forbidden", `browser requests from ${site} pages are refused; this API answers its own origin only`);
    }
    await next();
  };
}

/**
 * `Host` must be exactly one of the names of the listener the connection came in on: `localhost`
 * or the loopback address it is bound to, with its port. Without a port it may only be the
 * scheme's default, 80. 127.0.0.2 is not 127.0.0.1, and `evil.localhost` is not `localhost`.
 */
function checkHost(host: string, ctx: Context): void {
  const names = listenerNames(ctx.req.socket);
  if (!names.includes(host.toLowerCase())) {
    const said = host ? `Host "${host}"` : "a request without Host";
    throw new GatewayError(403, "forbidden", `${said} does not name this listener (${names.join(" or ")}); this API only answers local clients`);
  }
}

/** Each connection's listener names, worked out once: a kept-alive connection asks for every request. */
const namesOfConnection = new WeakMap<Socket, string[]>();

function listenerNames(socket: Socket): string[] {
  let names = namesOfConnection.get(socket);
  if (names) return names;
  const { localAddress, localPort } = socket;
  const address = localAddress?.includes(":") ? `[${localAddress}]` : (localAddress ?? "");
  names = ["localhost", address].flatMap((name) => (localPort === 80 ? [name, `${name}:80`] : [`${name}:${localPort}`]));
  namesOfConnection.set(socket, names);
  return names;
}

/** The origin a page of this API would have, reached by `host`, as a browser writes it in `Origin`. */
function ownOrigin(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).origin;
  } catch {
    return undefined;
  }
}
