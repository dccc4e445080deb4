import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * Host ports forwarded by the daemon to a container on an internal network. An engine publishes
 * no port of a container whose network has no route out (Docker and Podman alike), so for a
 * project without egress ghostd listens on 127.0.0.1 itself and connects to the container's
 * address on the project network, which the host reaches. TCP only.
 */
export class PortForwards {
  private readonly servers = new Map<number, { server: Server; sockets: Set<Socket>; owner: string }>();

  /** Listens on 127.0.0.1:`hostPort` for `owner` (a container id), forwarding to `address`:`port`. */
  async open(owner: string, hostPort: number, address: string, port: number): Promise<void> {
    this.close(hostPort);
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(port, address);
      for (const [socket, other] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        // A reset after the last bytes (a server closing with our request unread) must not lose
        // them: the other side ends once what it was given is written, rather than at once.
        socket.on("error", () => other.end());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(hostPort, "127.0.0.1", () => resolve());
    });
    this.servers.set(hostPort, { server, sockets, owner });
  }

  holds(owner: string, hostPort: number): boolean {
    return this.servers.get(hostPort)?.owner === owner;
  }

  /** Stops forwarding every port of `owner`. */
  closeAll(owner: string): void {
    for (const [port, entry] of this.servers) if (entry.owner === owner) this.close(port);
  }

  private close(hostPort: number): void {
    const entry = this.servers.get(hostPort);
    if (!entry) return;
    this.servers.delete(hostPort);
    entry.server.close();
    for (const socket of entry.sockets) socket.destroy();
  }
}
