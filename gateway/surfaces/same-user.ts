import type { Middleware } from "koa";
import type { Socket } from "node:net";
import { judgePeer, type PeerPolicy, type PeerVerdict } from "../../server/peer-credentials";
import { GatewayError } from "../transcoder/errors";

/**
 * For a TCP listener: serves a client only when it runs as the daemon's user (or root, when the
 * policy allows), 403 `permission_denied` otherwise. The kernel's socket table is read once per
 * connection, when its first request comes, and the verdict holds for the connection's later
 * requests. (A Unix socket needs no such guard: its mode already kept other users out.)
 */
export function sameUser(policy: PeerPolicy): Middleware {
  const verdicts = new WeakMap<Socket, Promise<PeerVerdict>>();
  return async (ctx, next) => {
    const socket = ctx.req.socket;
    let verdict = verdicts.get(socket);
    if (!verdict) {
      // A socket already gone has no address: judgePeer refuses what it cannot look up.
      verdict = judgePeer(policy, socket);
      verdicts.set(socket, verdict);
    }
    const judged = await verdict;
    if (!judged.allowed) throw new GatewayError(403, "permission_denied", judged.message, { Connection: "close" });
    await next();
  };
}
