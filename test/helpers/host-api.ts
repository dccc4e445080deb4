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

/** Raw bytes to the socket, read until the server closes. */
export { rawExchange } from "./raw-http";
