import { connect } from "node:net";
import { call, type Reply } from "./http";

/** A client of one Host API socket: one request per connection, as GhostVM's clients do. */
export class HostApi {
  constructor(readonly socketPath: string) {}

  get(path: string, headers?: Record<string, string>): Promise<Reply> {
    return call({ socketPath: this.socketPath, path, ...(headers ? { headers } : {}) });
  }

  send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const raw = body === undefined || Buffer.isBuffer(body) || typeof body === "string" ? body : JSON.stringify(body);
    const contentType: Record<string, string> = Buffer.isBuffer(body) || typeof body === "string" ? {} : { "Content-Type": "application/json" };
    return call({ socketPath: this.socketPath, method, path, ...(raw === undefined ? {} : { body: raw }), headers: { ...contentType, ...headers } });
  }

  exec(request: Record<string, unknown>): Promise<Reply> {
    return this.send("POST", "/api/v1/exec", request);
  }
}

/** Writes raw bytes to a Unix socket and reads until the server closes; the time that took. */
export function rawExchange(socketPath: string, bytes: string, timeoutMs = 10_000): Promise<{ data: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(socketPath);
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${timeoutMs} ms; got: ${data}`));
    }, timeoutMs);
    socket.on("data", (chunk) => (data += chunk.toString()));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ data, ms: Date.now() - started });
    });
    if (bytes) socket.write(bytes);
  });
}
