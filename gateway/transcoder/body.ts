import type { IncomingMessage } from "node:http";
import getRawBody from "raw-body";
import { GatewayError } from "./errors";

/** How much of an oversized body is read and dropped so the client can finish sending and read the 413. */
const DRAIN_LIMIT = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Reads a request body up to `limit` bytes. Over the limit is 413, found from Content-Length
 * before reading, or while streaming a chunked body, never after buffering it whole.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  // Without Content-Length or Transfer-Encoding, HTTP/1.1 says there is no body.
  if (declared === undefined && req.headers["transfer-encoding"] === undefined) return EMPTY;
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limit) throw await tooLarge(req, limit);
  try {
    return await getRawBody(req, { limit, length });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === "entity.too.large") throw await tooLarge(req, limit);
    if (type === "request.aborted") throw new GatewayError(400, "request_aborted", "the client closed the request early");
    if (type === "request.size.invalid") throw new GatewayError(400, "invalid_body", "the body is not as long as Content-Length says");
    throw err;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * 413, once the rest of the body is read and dropped (up to a bound): a client still sending
 * when the connection closes may never read the answer. A larger body gets the 413 at once.
 */
async function tooLarge(req: IncomingMessage, limit: number): Promise<GatewayError> {
  const error = new GatewayError(413, "payload_too_large", `the request body is larger than ${limit} bytes`, { Connection: "close" });
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > DRAIN_LIMIT) return error;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off("data", count);
      resolve();
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
  return error;
}
