import { credentials } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { GuestAgentClient } from "../../generated/ghostd/agent/v1/agent";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { fdCount, fdsBackTo } from "../helpers/proc-stats";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** An empty SETTINGS frame: what a client sends after the preface. */
const SETTINGS = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);

/** A frame header: 24-bit length, type, flags, stream id. */
function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(stream, 5);
  return header;
}

/** What each kind of broken client sends, and then it says nothing more (nor answers pings). */
const BROKEN: Readonly<Record<string, Buffer>> = {
  // HEADERS (END_HEADERS|END_STREAM) whose block is an HPACK index that does not exist.
  "a bad HPACK block": Buffer.concat([Buffer.from(PREFACE), SETTINGS, frameHeader(5, 0x1, 0x5, 1), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]),
  "a frame header claiming 16 MB": Buffer.concat([Buffer.from(PREFACE), SETTINGS, frameHeader(0xffffff, 0x0, 0, 1)]),
  "the preface, then nothing": Buffer.from(PREFACE),
  "nothing at all": Buffer.alloc(0),
};

/** Connects and sends `bytes`; resolves with a promise of the server closing the connection. */
function brokenClient(socketPath: string, bytes: Buffer): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.on("error", () => undefined);
    socket.resume();
    socket.once("connect", () => {
      if (bytes.length > 0) socket.write(bytes);
      resolve({ socket, closed });
    });
    socket.once("error", reject);
  });
}

/** Connections to the gRPC socket that are broken, silent or idle are closed by the daemon. */
describe("security: gRPC connections that go nowhere", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-h2-");
  let daemon: DaemonProcess;
  let pid: number;
  let socketPath: string;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "off", "--grpc-keepalive", "500", "--grpc-idle-timeout", "1000"], env: { HOME: home.path } });
    pid = daemon.endpoints.pid;
    socketPath = (daemon.endpoints.grpc ?? "").replace(/^unix:/, "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  it("closes 20 malformed or silent HTTP/2 connections, and its descriptors come back", async () => {
    const baseline = fdCount(pid);
    const kinds = Object.entries(BROKEN);
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => brokenClient(socketPath, (kinds[i % kinds.length] ?? ["", Buffer.alloc(0)])[1])));
    await waitFor("the daemon to hold the 20 connections", () => fdCount(pid) >= baseline + 20, 5000);
    try {
      await fdsBackTo(pid, baseline, 2, 10_000);
      const open = kinds.filter((_, k) => clients.some((c, i) => i % kinds.length === k && !c.socket.destroyed && !c.socket.readableEnded));
      assert.deepEqual(open.map(([kind]) => kind), [], "the daemon closed every kind of broken connection");
    } finally {
      for (const { socket } of clients) socket.destroy();
    }
  });

  it("closes a well-formed client's connection once it has had no call for the idle timeout, and the client carries on", async () => {
    const baseline = fdCount(pid);
    const client = new GuestAgentClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
    try {
      const health = (): Promise<unknown> => new Promise((resolve, reject) => client.health({}, (err, reply) => (err ? reject(err) : resolve(reply))));
      await health();
      assert.ok(fdCount(pid) > baseline, "the client's connection holds a descriptor in the daemon");
      await fdsBackTo(pid, baseline, 0, 10_000);
      await health();
    } finally {
      client.close();
    }
  });
});
