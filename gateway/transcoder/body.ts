import type { IncomingMessage } from "node:http";
import getRawBody from "raw-body";
import { GatewayError } from "./errors";

/**
 * Reads a request body up to `limit` bytes. Over the limit is 413, found from Content-Length
 * before reading, or while streaming a chunked body, never after buffering it whole.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  // Without Content-Length or Transfer-Encoding, HTTP/1.1 says there is no body.
  if (declared === undefined && req.headers["transfer-encoding"] === undefined) return EMPTY;
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limit) throw tooLarge(req, limit);
  try {
    return await getRawBody(req, { limit, length });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === "entity.too.large") throw tooLarge(req, limit);
    if (type === "request.aborted") throw new GatewayError(400, "request_aborted", "the client closed the request early");
    if (type === "request.size.invalid") throw new GatewayError(400, "invalid_body", "the body is not as long as Content-Length says");
    throw err;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * 413, and the rest of the body read and dropped: closing with it unread would reset the
 * connection, and a client still sending could lose the answer.
 */
function tooLarge(req: IncomingMessage, limit: number): GatewayError {
  req.resume();
  return new GatewayError(413, "payload_too_large", `the request body is larger than ${limit} bytes`, { Connection: "close" });
}
