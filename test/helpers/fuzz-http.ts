import { request, type IncomingMessage } from "node:http";
import type { FuzzRequest } from "./fuzz-requests";

/** How one fuzzed request went. */
export interface Outcome {
  readonly status: number;
  /** The start of the body (or of a stream, which is cut). */
  readonly body: string;
  /** Time to the whole answer; for a stream that is cut, time to its headers. */
  readonly ms: number;
  /** Set when no answer came: the connection failed, or the headers took too long. */
  readonly error?: string;
  /**
   * Whether the request's head was past Node's 16 KiB limit, which the server answers with a
   * 431 and a close while a client may still be writing (so it sees EPIPE, not the 431).
   */
  readonly oversizedHead: boolean;
}

const MAX_HEAD_BYTES = 16 * 1024;

export interface FuzzTargets {
  /** `http://127.0.0.1:port` of the Terminal API. */
  readonly http: string;
  /** The Host API socket. */
  readonly hostSocket: string;
}

const BODY_CAP = 256 * 1024;
/** A stream is read this long after its headers, then cut: watch and follow never end. */
const STREAM_READ_MS = 1000;
const HEADERS_TIMEOUT_MS = 5000;
/** An id no terminal has, for a live id asked for when none is open. */
const NO_TERMINAL = "00000000-0000-4000-8000-000000000000";

/** `live~terminal~N~` as the id of the Nth terminal open now. */
function withLiveIds(text: string, live: readonly string[]): string {
  return text.replace(/live~terminal~(\d+)~/g, (_, n: string) => live[Number(n) % Math.max(live.length, 1)] ?? NO_TERMINAL);
}

/** Sends one request on a fresh connection and reads (the start of) its answer. */
export function send(fuzzed: FuzzRequest, targets: FuzzTargets, live: readonly string[]): Promise<Outcome> {
  const url = new URL(targets.http);
  const body = fuzzed.body?.includes("live~terminal~") ? Buffer.from(withLiveIds(fuzzed.body.toString("utf8"), live)) : fuzzed.body;
  const headers: Record<string, string | number> = { ...fuzzed.headers };
  if (body !== undefined) headers["Content-Length"] = body.length;
  const where = fuzzed.surface === "host" ? { socketPath: targets.hostSocket } : { host: url.hostname, port: url.port };
  const path = withLiveIds(fuzzed.target, live);
  const oversizedHead = path.length + Object.entries(headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0) > MAX_HEAD_BYTES;
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Omit<Outcome, "oversizedHead">): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...outcome, oversizedHead });
    };
    const req = request({ ...where, method: fuzzed.method, path, headers, agent: false }, (res) => {
      const headersMs = Date.now() - started;
      readBody(res, (text, cut) => settle({ status: res.statusCode ?? 0, body: text, ms: cut ? headersMs : Date.now() - started }));
    });
    const timer = setTimeout(() => settle({ status: 0, body: "", ms: Date.now() - started, error: `no answer within ${HEADERS_TIMEOUT_MS} ms` }), HEADERS_TIMEOUT_MS);
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A server may answer (413) before the whole body is written; the answer counts then.
      if (err.code === "EPIPE" || err.code === "ECONNRESET") setTimeout(() => settle({ status: 0, body: "", ms: Date.now() - started, error: err.message }), 200);
      else settle({ status: 0, body: "", ms: Date.now() - started, error: err.message });
    });
    req.end(body);
  });
}

/** Reads a body up to a cap, or a stream for a while; says whether it was cut. */
function readBody(res: IncomingMessage, done: (text: string, cut: boolean) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = (cut: boolean): void => {
    clearTimeout(timer);
    done(Buffer.concat(chunks).toString("utf8"), cut);
  };
  const timer = setTimeout(() => finish(true), STREAM_READ_MS);
  res.on("data", (chunk: Buffer) => {
    if (size < BODY_CAP) chunks.push(chunk);
    size += chunk.length;
    if (size >= BODY_CAP) finish(true);
  });
  res.on("end", () => finish(false));
  res.on("error", () => finish(true));
}
