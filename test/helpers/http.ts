import { request as httpRequest, type IncomingHttpHeaders } from "node:http";

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface Call {
  /** `http://host:port` for TCP; ignored with socketPath. */
  readonly base?: string;
  readonly socketPath?: string;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string | number>;
  readonly body?: string | Buffer;
  /** Send the body in chunks without a Content-Length. */
  readonly chunked?: boolean;
}

/** The header a JSON body needs on the TCP listener, which refuses other body types (415). */
export const JSON_TYPE: Readonly<Record<string, string>> = { "Content-Type": "application/json" };

/** One HTTP request on a fresh connection, the whole response read. */
export function call(options: Call): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = options.base ? new URL(options.base) : undefined;
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined && !options.chunked) headers["Content-Length"] = Buffer.byteLength(options.body);
    const req = httpRequest(
      {
        socketPath: options.socketPath,
        host: url?.hostname,
        port: url?.port,
        method: options.method ?? "GET",
        path: options.path,
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const text = body.toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A server may answer (413) and close before the whole body is written: the answer still
      // counts, so a broken pipe only fails the call when no response comes.
      if (err.code === "EPIPE" || err.code === "ECONNRESET") req.once("close", () => setImmediate(() => reject(err)));
      else reject(err);
    });
    if (options.body !== undefined) {
      if (options.chunked) {
        const body = Buffer.from(options.body);
        for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024));
      } else {
        req.write(options.body);
      }
    }
    req.end();
  });
}

/** Lines of a newline-delimited JSON body. */
export function ndjson(reply: Reply): Record<string, unknown>[] {
  return reply.text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
