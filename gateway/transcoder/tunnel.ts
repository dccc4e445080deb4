import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { decodeReply } from "../transport/method-calls";
import { bytesRequest } from "./frames";
import { fieldValue } from "./message-fields";
import type { Route, StreamUpgradeBinding } from "./routes";

/** The Upgrade token of a request that a route takes, if it asked for one. */
export function upgradeProtocol(req: IncomingMessage, binding: StreamUpgradeBinding): string | undefined {
  const asked = (req.headers.upgrade ?? "").split(",").map((p) => p.trim());
  return asked.find((p) => binding.protocols.includes(p.toLowerCase()));
}


/** The 101 that hands the socket over to the tunnelled bytes. */
export function switchingProtocols(protocol: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${protocol}\r\nConnection: Upgrade\r\n\r\n`;
}

/**
 * Carries raw bytes between a client socket and a bidi call until both directions have ended:
 * each side's writes wait while the other is full, and each side's end of writing becomes the
 * other's (TCP half-close through gRPC's half-close). A failed call resets the client.
 */
export function carryBytes(socket: Socket, head: Buffer, call: ClientDuplexStream<Buffer, Buffer>, route: Route, binding: StreamUpgradeBinding): void {
  let finished = false;
  call.on("data", (chunk: Buffer) => {
    const reply = decodeReply(route.method, chunk);
    const data = fieldValue(reply, binding.dataOut);
    if (data instanceof Uint8Array && data.length > 0 && !socket.write(data)) {
      call.pause();
      socket.once("drain", () => call.resume());
    }
    if (binding.endOut && fieldValue(reply, binding.endOut) === true) socket.end();
  });
  call.on("end", () => {
    finished = true;
    socket.end();
  });
  call.on("error", () => socket.destroy());
  if (head.length > 0) call.write(bytesRequest(route, binding.dataIn, head));
  socket.on("data", (chunk: Buffer) => {
    if (!call.write(bytesRequest(route, binding.dataIn, chunk))) {
      socket.pause();
      call.once("drain", () => socket.resume());
    }
  });
  socket.on("end", () => call.end());
  socket.on("error", () => socket.destroy());
  socket.once("close", () => {
    if (!finished) call.cancel();
  });
  call.resume();
}
