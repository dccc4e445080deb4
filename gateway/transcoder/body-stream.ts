import type { ClientWritableStream } from "@grpc/grpc-js";
import type { IncomingMessage } from "node:http";
import { GatewayError } from "./errors";
import { bytesRequest } from "./frames";
import type { BodyStreamBinding, Route } from "./routes";

/**
 * Feeds a request body into a client-streaming call, one request per chunk as it arrives. The body
 * is read only as fast as the call takes it (a full call pauses the request), so memory stays flat
 * whatever its size; its end is the call's half-close. Rejects with 408 when no byte arrives for
 * `idleMs` (0: no bound) and 400 when the client goes away first; resolves, having stopped
 * reading, once `stop` aborts (the call has answered before the body ended).
 */
export function feedBody(req: IncomingMessage, call: ClientWritableStream<Buffer>, route: Route, binding: BodyStreamBinding, idleMs: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const resume = (): void => void req.resume();
    const onData = (chunk: Buffer): void => {
      timer?.refresh();
      if (!call.write(bytesRequest(route, binding.dataIn, chunk))) {
        req.pause();
        call.once("drain", resume);
      }
    };
    const onEnd = (): void => {
      settle();
      call.end();
      resolve();
    };
    const onClose = (): void => {
      if (req.complete) return;
      settle();
      reject(new GatewayError(400, "request_aborted", "the client closed the request before the body ended"));
    };
    const stalled = (): void => {
      settle();
      reject(new GatewayError(408, "request_timeout", `the request body stalled: no bytes of it arrived for ${idleMs} ms`, { Connection: "close" }));
    };
    const stopped = (): void => {
      settle();
      resolve();
    };
    const timer = idleMs > 0 ? setTimeout(stalled, idleMs) : undefined;
    const settle = (): void => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("close", onClose);
      call.off("drain", resume);
      stop.removeEventListener("abort", stopped);
    };
    req.on("data", onData).once("end", onEnd).once("close", onClose);
    stop.addEventListener("abort", stopped, { once: true });
    if (stop.aborted) stopped();
  });
}
