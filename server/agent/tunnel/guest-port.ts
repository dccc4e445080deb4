import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { agentError } from "../reasons";

const MAX_PORT = 65535;

function checkPort(port: number | undefined): number {
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw agentError("invalid_argument", `the port must be from 1 to ${MAX_PORT}; got ${port ?? "none"}`);
  }
  return port;
}

function connectTo(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Half-open: the client's end of writing must not end the guest's, nor the other way round.
    const socket = connect({ host, port, allowHalfOpen: true, noDelay: true });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/**
 * A connection to a TCP port inside the guest: 127.0.0.1, else ::1 for a service listening on
 * IPv6 loopback only. Nothing listening is tunnel_refused.
 */
export async function connectGuestPort(port: number | undefined): Promise<Socket> {
  const checked = checkPort(port);
  try {
    return await connectTo("127.0.0.1", checked);
  } catch (first) {
    try {
      return await connectTo("::1", checked);
    } catch {
      const code = (first as NodeJS.ErrnoException).code ?? (first as Error).message;
      throw agentError("tunnel_refused", `nothing accepts connections on guest port ${checked} (${code})`);
    }
  }
}

/** Node has no AF_VSOCK sockets: a vsock tunnel is refused with why, whether or not the guest has vsock. */
export function refuseVsock(port: number | undefined): never {
  const checked = checkPort(port);
  const why = existsSync("/dev/vsock") ? "the agent cannot open vsock sockets (Node.js has no AF_VSOCK)" : "this guest has no vsock device";
  throw agentError("vsock_unavailable", `cannot connect to vsock port ${checked}: ${why}; tunnel to a TCP port with Upgrade: tunnel instead`);
}
