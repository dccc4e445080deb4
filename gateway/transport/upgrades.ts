import { ServerResponse, type IncomingMessage, type Server } from "node:http";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";

/** A request that asked to switch protocols, and what switching it needs. */
export interface Upgrade {
  readonly socket: Socket;
  /** Bytes the client sent after its headers: the first frames, or the first tunnelled bytes. */
  readonly head: Buffer;
  /** Completes the WebSocket handshake (RFC 6455) on the socket; the request's key and version must have been checked. */
  acceptWebSocket(): Promise<WebSocket>;
}

const upgrades = new WeakMap<IncomingMessage, Upgrade>();

/** The upgrade a request asked for, when it came in through `serveUpgrades`. */
export function upgradeOf(req: IncomingMessage): Upgrade | undefined {
  return upgrades.get(req);
}

export interface UpgradeOptions {
  /** The largest message a WebSocket client may send. */
  readonly maxPayload: number;
}

/**
 * Sends upgrade requests through the same handler as every other request, so guards, routing and
 * error answers are the surface's own: the handler gets an ordinary response written to the
 * socket (an error, or a route that does not upgrade), or takes the socket over through
 * `upgradeOf`. Answers a closer that also ends the WebSockets still open.
 */
export function serveUpgrades(server: Server, handle: (req: IncomingMessage, res: ServerResponse) => void, options: UpgradeOptions): () => void {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload, perMessageDeflate: false });
  // The server no longer counts a socket it handed over, so closing it would not end these.
  const live = new Set<Socket>();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A TCP or Unix socket, always, from an http.Server.
    if (!(socket instanceof Socket)) return void socket.destroy();
    live.add(socket);
    socket.once("close", () => live.delete(socket));
    const acceptWebSocket = (): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const gone = (): void => reject(new Error("the client went away during the handshake"));
        socket.once("close", gone);
        sockets.handleUpgrade(req, socket, head, (ws) => {
          socket.off("close", gone);
          resolve(ws);
        });
      });
    upgrades.set(req, { socket, head, acceptWebSocket });
    handle(req, plainResponse(req, socket));
  });
  return () => {
    for (const ws of sockets.clients) ws.terminate();
    for (const socket of live) socket.destroy();
  };
}

/** A response on the upgrade's socket for when it is answered without switching; the connection ends after it. */
function plainResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once("finish", () => {
    res.detachSocket(socket);
    // Closed once written, whether or not the client closes its side: nothing more is read.
    socket.destroySoon();
  });
  return res;
}
