import { connect, type Socket } from "node:net";

export interface TunnelReply {
  /** The response head: status line and headers. */
  readonly head: string;
  readonly socket: Socket;
  /** Bytes that came after the head. */
  readonly rest: Buffer;
}

/** Sends an upgrade request to a Host API socket and resolves once the response head is in. */
export function requestTunnel(socketPath: string, headers: string, path = "/api/v1/tunnel-connect"): Promise<TunnelReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath, allowHalfOpen: true });
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      resolve({ head: received.subarray(0, end).toString(), socket, rest: received.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`);
  });
}

/** Everything a socket sends until it ends, after what was already read. */
export function readToEnd(socket: Socket, already: Uint8Array = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [already];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("error", reject);
    socket.resume();
  });
}
