import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HANDSHAKE_TIMEOUT_MS = 5000;
const MAX_REPLY = 64;

/**
 * Opens a connection to a guest port through a hybrid vsock socket: connect to the host-side Unix
 * socket, send `CONNECT <port>\n`, expect `OK <host port>\n`; what follows is the guest's stream.
 */
export function dialHybridVsock(path: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let reply = Buffer.alloc(0);
    const fail = (message: string): void => {
      socket.destroy();
      reject(new Error(`hybrid vsock ${path} port ${port}: ${message}`));
    };
    const timer = setTimeout(() => fail("no answer to CONNECT"), HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      reply = Buffer.concat([reply, chunk]);
      const newline = reply.indexOf(0x0a);
      if (newline < 0) {
        if (reply.length > MAX_REPLY) fail("the answer to CONNECT is not a line");
        return;
      }
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("end", onEnd);
      const line = reply.subarray(0, newline).toString("latin1").trim();
      if (!/^OK \d+$/.test(line)) return fail(`CONNECT was refused: "${line}"`);
      socket.pause();
      // Bytes after the reply line already belong to the guest's stream.
      const rest = reply.subarray(newline + 1);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onError = (err: Error): void => {
      clearTimeout(timer);
      fail(err.message);
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      fail("closed during the handshake");
    };
    socket.on("data", onData);
    socket.once("error", onError);
    socket.once("end", onEnd);
    socket.once("connect", () => socket.write(`CONNECT ${port}\n`));
  });
}

/**
 * A private local Unix socket whose every connection is a fresh hybrid vsock connection to the
 * guest port. gRPC connects to the bridge since grpc-js cannot run a handshake of its own.
 */
export class HybridVsockBridge {
  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly socketPath: string,
  ) {}

  static async open(vsockPath: string, port: number): Promise<HybridVsockBridge> {
    const dir = await mkdtemp(join(tmpdir(), "ghostd-vsock-"));
    const socketPath = join(dir, "bridge.sock");
    const server = createServer((local) => {
      local.pause();
      dialHybridVsock(vsockPath, port).then(
        (remote) => {
          local.pipe(remote).pipe(local);
          local.on("error", () => remote.destroy());
          remote.on("error", () => local.destroy());
          local.on("close", () => remote.destroy());
          remote.on("close", () => local.destroy());
          local.resume();
          remote.resume();
        },
        () => local.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    return new HybridVsockBridge(server, dir, socketPath);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
