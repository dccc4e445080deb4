import { connect, type Socket } from "node:net";

/** Where a raw client connects: a Unix socket path, or a TCP host and port. */
export type Where = string | { readonly host: string; readonly port: number };

export function rawConnect(where: Where): Socket {
  return connect(typeof where === "string" ? { path: where } : where);
}

/** The endpoint of an `http://host:port` base URL. */
export function tcpOf(base: string): { host: string; port: number } {
  const url = new URL(base);
  return { host: url.hostname, port: Number(url.port) };
}

/** Writes raw bytes and reads until the server closes; what came back and the time that took. */
export function rawExchange(where: Where, bytes: string | Buffer, timeoutMs = 10_000): Promise<{ data: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = rawConnect(where);
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
    if (bytes.length > 0) socket.write(bytes);
  });
}

export interface RawResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The first response in what a raw exchange read (Content-Length or chunked). */
export function parseResponse(data: string): RawResponse {
  const end = data.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no complete response in: ${JSON.stringify(data)}`);
  const [statusLine = "", ...lines] = data.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.slice(end + 4);
  const length = headers["content-length"];
  const body = length !== undefined ? rest.slice(0, Number(length)) : headers["transfer-encoding"] === "chunked" ? dechunk(rest) : rest;
  return { status, headers, body };
}

function dechunk(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf("\r\n", at);
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}
