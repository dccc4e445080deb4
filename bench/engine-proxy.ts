import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

// A timing proxy between a daemon and its engine, for profiling what a daemon's call costs in
// engine calls: it passes each HTTP request on to the engine's socket as it came and notes how
// long the engine took to answer with its headers. Streams (logs, wait) pass through as they flow.

/** One engine call: when it came (ms on this process's clock) and how long until the engine's headers. */
export interface EngineCall {
  readonly kind: string;
  readonly at: number;
  readonly ms: number;
  readonly status: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** `POST /v1.41/containers/ab12…/start?x` as `POST /containers/{id}/start`, so calls of one kind group. */
export function callKind(method: string, url: string): string {
  const path = url
    .replace(/\?.*$/, "")
    .replace(/^\/v[\d.]+(?=\/)/, "")
    .replace(/^\/(containers|networks|exec)\/(?!create$|json$|prune$)[^/]+/, "/$1/{id}")
    .replace(/^\/images\/(?!create$|json$|load$|prune$).+?(?=\/json$|$)/, "/images/{name}");
  return `${method} ${path}`;
}

export interface EngineProxy {
  readonly calls: readonly EngineCall[];
  close(): Promise<void>;
}

/** Listens on `listen` (a Unix socket path) and passes every request on to the engine at `engine`. */
export async function engineProxy(listen: string, engine: string): Promise<EngineProxy> {
  const calls: EngineCall[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const at = now();
    const upstream = request({ socketPath: engine, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      calls.push({ kind: callKind(req.method ?? "", req.url ?? ""), at, ms: now() - at, status: answer.statusCode ?? 0 });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // Each chunk at once: a followed log or a wait must not sit in a buffer here.
      answer.on("data", (chunk: Buffer) => res.write(chunk));
      answer.on("end", () => res.end());
      answer.on("error", () => res.destroy());
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  return {
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
