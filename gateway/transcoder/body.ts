import type { IncomingMessage } from "node:http";
import getRawBody from "raw-body";
import { GatewayError } from "./errors";

/** How much of an oversized body is read and dropped so the client can finish sending and read the 413. */
const DRAIN_LIMIT = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Reads a request body up to `limit` bytes. Over the limit is 413, found from Content-Length
 * before reading, or while streaming a chunked body, never after buffering it whole. A body that
 * stops coming for `idleMs` (0: no bound) is 408 `request_timeout`, and the connection closes.
 * Only a pause counts, never the whole time: a large body that keeps flowing is read however
 * long it takes.
 */
export async function readBody(req: IncomingMessage, limit: number, idleMs: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  // Without Content-Length or Transfer-Encoding, HTTP/1.1 says there is no body.
  if (declared === undefined && req.headers["transfer-encoding"] === undefined) return EMPTY;
  const length = declared === undefined ? undefined : Number(declared);
  if (length === 0) return EMPTY;
  if (length !== undefined && length > limit) throw await tooLarge(req, limit);
  try {
    return await whileFlowing(req, getRawBody(req, { limit, length }), idleMs);
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === "entity.too.large") throw await tooLarge(req, limit);
    if (type === "request.aborted") throw new GatewayError(400, "request_aborted", "the client closed the request early");
    if (type === "request.size.invalid") throw new GatewayError(400, "invalid_body", "the body is not as long as Content-Length says");
    throw err;
  }
}

const EMPTY = Buffer.alloc(0);

/** `reading`, unless no byte of the body arrives for `idleMs`: then 408, with the connection closed. */
function whileFlowing(req: IncomingMessage, reading: Promise<Buffer>, idleMs: number): Promise<Buffer> {
  if (idleMs <= 0) return reading;
  return new Promise((resolve, reject) => {
    const stalled = (): void => {
      req.off("data", restart);
      // The read itself fails once the connection closes, unheard: the 408 is the answer.
      reject(new GatewayError(408, "request_timeout", `the request body stalled: no bytes of it arrived for ${idleMs} ms`, { Connection: "close" }));
    };
    const timer = setTimeout(stalled, idleMs);
    const restart = (): void => void timer.refresh();
    req.on("data", restart);
    void reading.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      req.off("data", restart);
    });
  });
}

/** 413; the rest of the body is drained before it is sent (see drainRequest). */
async function tooLarge(req: IncomingMessage, limit: number): Promise<GatewayError> {
  const error = new GatewayError(413, "payload_too_large", `the request body is larger than ${limit} bytes`, { Connection: "close" });
  await drainRequest(req);
  return error;
}

/**
 * Reads and drops what a client is still sending, up to a bound, so it can read the answer: a
 * server that answers and closes while bytes are still arriving resets the connection, and the
 * client may lose the answer with it. Resolves false when the body was past the bound, or the
 * client stopped sending before it was done.
 */
export async function drainRequest(req: IncomingMessage): Promise<boolean> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (req.complete) return true;
  if (declared > DRAIN_LIMIT || req.destroyed) return false;
  return new Promise<boolean>((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off("data", count);
      req.off("end", done);
      req.off("close", done);
      resolve(req.complete);
    };
    const count = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > DRAIN_LIMIT) done();
    };
    const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
    req.on("data", count);
    req.once("end", done);
    req.once("close", done);
    req.resume();
  });
}
