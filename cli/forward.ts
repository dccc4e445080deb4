import type { Command } from "commander";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { readEndpoints } from "./config";

/** The VM's Host API socket: as the running daemon's endpoints say, else where the default puts it. */
export function hostApiSocket(home: string, vm: string): string {
  const endpoints = readEndpoints(home);
  if (endpoints) {
    const path = endpoints.host_api[vm];
    if (path) return path;
    throw new Error(`the daemon at ${home} serves no VM named "${vm}" (it serves: ${Object.keys(endpoints.host_api).join(", ") || "none"})`);
  }
  return join(home, "api", `${vm}.GhostVM.sock`);
}

function parseMapping(mapping: string): { local: number; guest: number } {
  const match = /^(\d{1,5}):(\d{1,5})$/.exec(mapping);
  const local = Number(match?.[1]);
  const guest = Number(match?.[2]);
  if (!match || local > 65535 || guest < 1 || guest > 65535) throw new Error(`"${mapping}" is not LOCAL:GUEST, two ports (LOCAL 0 picks a free one)`);
  return { local, guest };
}

/**
 * Opens a tunnel to a guest port through the Host API socket; resolves with the socket once the
 * 101 has come, holding any bytes that followed it; rejects with the API's error otherwise.
 */
export function openTunnel(socketPath: string, port: number): Promise<{ socket: Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath, allowHalfOpen: true });
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      if (head.subarray(0, 13).toString() === "HTTP/1.1 101 ") return resolve({ socket, rest: head.subarray(end + 4) });
      socket.on("data", (more: Buffer) => (head = Buffer.concat([head, more])));
      socket.on("end", () => reject(new Error(head.subarray(end + 4).toString() || head.subarray(0, end).toString())));
      socket.resume();
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("connect", () => socket.write(`GET /api/v1/tunnel-connect HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tunnel\r\nTunnel-Port: ${port}\r\n\r\n`));
  });
}

/** Pipes two sockets both ways, each one's end of writing passed on to the other. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const reset = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on("error", reset);
  b.on("error", reset);
}

function serveConnection(client: Socket, socketPath: string, guest: number): void {
  client.pause();
  openTunnel(socketPath, guest).then(
    ({ socket, rest }) => {
      if (rest.length > 0) client.write(rest);
      splice(client, socket);
      socket.resume();
      client.resume();
    },
    (err: unknown) => {
      process.stderr.write(`ghostctl forward: guest port ${guest}: ${(err as Error).message}\n`);
      client.destroy();
    },
  );
}

/** `ghostctl forward <vm> <local>:<guest>`: a local port whose every connection is tunnelled to the guest's. */
export function addForwardCommand(program: Command, home: () => string): void {
  program
    .command("forward")
    .description("listen on 127.0.0.1:LOCAL and tunnel each connection to GUEST inside the VM (LOCAL 0: any free port)")
    .argument("<vm>", "the VM's name (local for this machine)")
    .argument("<local:guest>", "ports, e.g. 8080:80")
    .action(async (vm: string, mapping: string) => {
      const { local, guest } = parseMapping(mapping);
      const socketPath = hostApiSocket(home(), vm);
      const server: Server = createServer({ allowHalfOpen: true }, (client) => serveConnection(client, socketPath, guest));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(local, "127.0.0.1", resolve);
      });
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : local;
      process.stdout.write(`${JSON.stringify({ listening: `127.0.0.1:${port}`, vm, guest_port: guest })}\n`);
      await new Promise<void>((resolve) => process.once("SIGINT", resolve).once("SIGTERM", resolve));
      server.close();
    });
}
