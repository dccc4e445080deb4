import { once } from "node:events";
import type { Socket } from "node:net";
import type { OpenTunnelRequest, OpenTunnelResponse } from "../../../generated/ghostd/agent/v1/agent";
import { OutputQueue } from "../output-queue";
import { agentError } from "../reasons";
import { connectGuestPort } from "./guest-port";

/** Bytes read from the guest port and not yet taken by the call before the socket is paused. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * One OpenTunnel call: the first request names the port, later ones carry the client's bytes.
 * The client's half-close ends the guest connection's writing; the guest's ends the replies.
 */
export async function tunnelCall(requests: AsyncIterator<OpenTunnelRequest>, signal: AbortSignal): Promise<AsyncIterable<OpenTunnelResponse>> {
  const first = await requests.next();
  if (first.done || !first.value.open) throw agentError("invalid_argument", "the first message of a tunnel must be `open` with the port");
  const socket = await connectGuestPort(first.value.open.port);
  signal.addEventListener("abort", () => socket.destroy(), { once: true });
  if (signal.aborted) socket.destroy();
  const fed = feed(requests, socket, first.value.data);
  return replies(socket, fed);
}

async function feed(requests: AsyncIterator<OpenTunnelRequest>, socket: Socket, first: Buffer): Promise<void> {
  try {
    if (first.length > 0 && !socket.write(first)) await once(socket, "drain");
    for (let next = await requests.next(); !next.done; next = await requests.next()) {
      if (next.value.data.length > 0 && !socket.write(next.value.data)) await once(socket, "drain");
    }
    socket.end();
  } catch {
    // The call was cancelled, or the socket failed: either way it goes.
    socket.destroy();
  }
}

/**
 * The guest's bytes, then `eof` once it has finished sending; the call goes on until the client
 * has finished too, so a guest that half-closes still gets the rest of the client's bytes.
 */
async function* replies(socket: Socket, fed: Promise<void>): AsyncGenerator<OpenTunnelResponse> {
  const queue = new OutputQueue<{ output: Buffer }>(HIGH_WATER_BYTES, socket);
  socket.on("data", (chunk: Buffer) => queue.push({ output: chunk }));
  socket.on("end", () => queue.end());
  socket.on("error", (err) => queue.fail(err));
  socket.on("close", () => queue.end());
  for await (const { output } of queue.drain()) yield { data: output, eof: false };
  yield { data: Buffer.alloc(0), eof: true };
  await fed;
}
