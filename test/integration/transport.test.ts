import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { startFixtureGateway, type FixtureGateway } from "../helpers/fixture-gateway";
import { call } from "../helpers/http";
import { tempDir } from "../helpers/tmp";

/**
 * A stand-in for Firecracker's host-side vsock socket: it reads `CONNECT <port>\n`, answers
 * `OK <n>\n` for the one guest port it knows and forwards to the guest's server; other ports are
 * refused by closing, as Firecracker does. The reply line and the guest's first bytes go out in
 * one write, so the gateway must hand what follows the line to gRPC.
 */
function hybridVsockListener(path: string, guestPort: number, guestSocket: string, seen: string[]): Promise<Server> {
  const server = createServer((host: Socket) => {
    let buffered = "";
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString("latin1");
      const newline = buffered.indexOf("\n");
      if (newline < 0) return;
      host.off("data", onData);
      const line = buffered.slice(0, newline);
      seen.push(line);
      if (line !== `CONNECT ${guestPort}`) return void host.destroy();
      host.pause();
      const guest = connect(guestSocket);
      guest.once("data", (first: Buffer) => {
        host.write(Buffer.concat([Buffer.from("OK 1073741824\n"), first]));
        guest.pipe(host);
        host.pipe(guest);
        host.resume();
      });
      const rest = buffered.slice(newline + 1);
      if (rest) guest.write(Buffer.from(rest, "latin1"));
      guest.on("error", () => host.destroy());
      host.on("error", () => guest.destroy());
      host.on("close", () => guest.destroy());
    };
    host.on("data", onData);
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe("gateway transports", () => {
  const dir = tempDir();
  const vsockPath = join(dir.path, "v.sock");
  const seen: string[] = [];
  let listener: Server | undefined;
  const viaVsock = (port: number) => async (guestSocket: string) => {
    listener ??= await hybridVsockListener(vsockPath, 1024, guestSocket, seen);
    return `fc-vsock:${vsockPath}:${port}`;
  };
  let gw: FixtureGateway | undefined;

  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
    listener = undefined;
  });
  after(() => dir.remove());

  it("reaches the server through a hybrid vsock socket with the CONNECT/OK handshake", async () => {
    gw = await startFixtureGateway({ targetFor: viaVsock(1024) });
    const reply = await call({ base: gw.base, path: "/v1/books/b1" });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json<{ book: { book_id: string } }>().book.book_id, "b1");
    assert.ok(seen.includes("CONNECT 1024"), seen.join(","));
    const stream = await call({ base: gw.base, path: "/v1/books/b2:watch?count=2" });
    assert.equal(stream.text.trim().split("\n").length, 2);
  });

  it("carries every call across a server that sends GOAWAY on each of its connections every 50 ms", async () => {
    // The server ends each connection soon after it opens: a call the gateway starts as the
    // GOAWAY arrives never reached the service, and is sent again on a fresh connection.
    gw = await startFixtureGateway({ serverOptions: { "grpc.max_connection_age_ms": 50, "grpc.max_connection_age_grace_ms": 1000 } });
    const base = gw.base;
    const failures: string[] = [];
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const reply = await call({ base, path: `/v1/books/w${w}-${i}` });
        if (reply.status !== 200) failures.push(`${reply.status} ${reply.text}`);
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    assert.deepEqual(failures, []);
  });

  it("answers 503 when the guest port refuses the connection", async () => {
    gw = await startFixtureGateway({ targetFor: viaVsock(7) });
    const reply = await call({ base: gw.base, path: "/v1/books/b1" });
    assert.equal(reply.status, 503);
    assert.equal(reply.json().error, "unavailable");
    assert.ok(seen.includes("CONNECT 7"));
  });
});
