import type { JsonValue } from "@bufbuild/protobuf";
import { maxHeaderSize, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { HttpError } from "../transcoder/errors";

/**
 * Answers what Node's HTTP server refuses before any request reaches the surface (a malformed
 * request, headers too large or too slow, an `Expect` it cannot meet) in the surface's own JSON
 * error, as every other failure is answered: Node's own replies have no body a client could
 * show. The connection closes after the answer, since what follows on it cannot be trusted.
 */
export function answerClientErrors(server: Server, render: (error: HttpError) => JsonValue): void {
  // A socket whose response has begun gets no second one written into the middle of it.
  const responding = new WeakSet<Duplex>();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    responding.add(req.socket);
    res.once("close", () => responding.delete(req.socket));
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    const error = refusalOf(err, server);
    if (error && socket.writable && !responding.has(socket)) {
      // Destroyed once written: the read side, half-open in Node's HTTP server, closes too.
      socket.end(rawResponse(error, render, isHead(err)), () => socket.destroy());
    } else {
      socket.destroy();
    }
  });
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    const error = { status: 417, reason: "expectation_failed", message: `Expect: ${req.headers.expect ?? ""} cannot be met; only 100-continue is understood` };
    const body = JSON.stringify(render(error));
    res.writeHead(417, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), Connection: "close" });
    res.end(body);
  });
}

/** The error a client gets for what the parser or the server's timers refused; none when the client went away. */
function refusalOf(err: NodeJS.ErrnoException, server: Server): HttpError | undefined {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, reason: "headers_too_large", message: `the request headers are larger than ${maxHeaderSize} bytes` };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { status: 413, reason: "payload_too_large", message: "the chunk extensions of the request body are too large" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, reason: "request_timeout", message: `the request headers did not all arrive within ${server.headersTimeout} ms` };
    default:
      return err.code?.startsWith("HPE_") ? { status: 400, reason: "bad_request", message: `the request is not valid HTTP/1.1: ${err.message}` } : undefined;
  }
}

/** Whether the refused request was a HEAD, whose answer carries no body (a client would take it for the next response). */
function isHead(err: NodeJS.ErrnoException & { rawPacket?: unknown }): boolean {
  return Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString("latin1") === "HEAD ";
}

/** A whole response, written straight to the socket: no ServerResponse exists for a request that never parsed. */
function rawResponse(error: HttpError, render: (error: HttpError) => JsonValue, head: boolean): string {
  const body = JSON.stringify(render(error));
  const lines = [`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}`, "Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`, "Connection: close"];
  return `${lines.join("\r\n")}\r\n\r\n${head ? "" : body}`;
}
