import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { packageRoot } from "../../cli/package-info";
import { agentDaemon } from "../helpers/agent-daemon";
import { freePort } from "../helpers/ports";
import { MiB, rssBytes } from "../helpers/proc-stats";
import { readToEnd, requestTunnel } from "../helpers/tunnel";
import { waitFor } from "../helpers/wait";

const GHOSTCTL = join(packageRoot, "dist", "cli", "ghostctl.js");
const GiB = 1024 * MiB;

/** A TCP server in the guest (this machine) on a free loopback port. */
async function guestServer(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** 1 MiB of bytes that differ from block to block, so a dropped, repeated or reordered block changes the digest. */
function block(i: number): Buffer {
  const seed = createHash("sha256").update(`block-${i}`).digest();
  return Buffer.alloc(MiB, seed);
}

describe("Host API tunnels", function () {
  this.timeout(120_000);
  const agent = agentDaemon("ghostd-tunnel-home-");
  const upgrade = (port: number | string): string => `Connection: Upgrade\r\nUpgrade: tunnel\r\nTunnel-Port: ${port}\r\n`;

  describe("a Python HTTP server in the guest", () => {
    const site = join(agent.home, "site");
    let python: ChildProcess;
    let port: number;
    before(async () => {
      mkdirSync(site, { recursive: true });
      writeFileSync(join(site, "hello.txt"), "hello through the tunnel\n");
      port = await freePort();
      python = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", site], { stdio: "ignore" });
      await waitFor("python's HTTP server", async () => (await requestTunnel(agent.socketPath, upgrade(port)).then(({ head, socket }) => (socket.destroy(), head.startsWith("HTTP/1.1 101")))) || undefined);
    });
    after(() => python.kill());

    it("answers through the socket after 101 Switching Protocols", async () => {
      const { head, socket, rest } = await requestTunnel(agent.socketPath, upgrade(port));
      assert.match(head, /^HTTP\/1.1 101 Switching Protocols\r\n/);
      assert.match(head, /\r\nUpgrade: tunnel/i);
      socket.end("GET /hello.txt HTTP/1.0\r\n\r\n");
      const reply = (await readToEnd(socket, rest)).toString();
      assert.match(reply, /^HTTP\/1.0 200 OK/);
      assert.match(reply, /hello through the tunnel\n$/);
    });

    it("answers through ghostctl forward, a local port tunnelling each connection", async () => {
      const forward = spawn(process.execPath, [GHOSTCTL, "--home", agent.daemon.home, "forward", "local", `0:${port}`], { stdio: ["ignore", "pipe", "inherit"] });
      try {
        const line = await new Promise<string>((resolve) => createInterface({ input: forward.stdout as NodeJS.ReadableStream }).once("line", resolve));
        const { listening } = JSON.parse(line) as { listening: string };
        const replies = await Promise.all([1, 2, 3].map(() => fetch(`http://${listening}/hello.txt`).then((r) => r.text())));
        assert.deepEqual(replies, Array(3).fill("hello through the tunnel\n"));
      } finally {
        forward.kill("SIGINT");
      }
    });
  });

  it("carries 1 GiB each way byte-exact, without the daemon's memory growing", async () => {
    const received = createHash("sha256");
    let receivedBytes = 0;
    const uploadSink = await guestServer((socket) => {
      socket.on("data", (chunk: Buffer) => {
        received.update(chunk);
        receivedBytes += chunk.length;
      });
      socket.on("end", () => socket.end(`${receivedBytes} ${received.digest("hex")}`));
    });
    const downloadSource = await guestServer((socket) => {
      let i = 0;
      const more = (): void => {
        while (i < 1024) if (!socket.write(block(i++))) return void socket.once("drain", more);
        socket.end();
      };
      more();
    });
    const pid = agent.daemon.child.pid ?? 0;
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
    try {
      const expected = createHash("sha256");
      const up = await requestTunnel(agent.socketPath, upgrade(uploadSink.port));
      const answer = readToEnd(up.socket, up.rest);
      for (let i = 0; i < 1024; i++) {
        const chunk = block(i);
        expected.update(chunk);
        if (!up.socket.write(chunk)) await new Promise((resolve) => up.socket.once("drain", resolve));
      }
      up.socket.end();
      assert.equal((await answer).toString(), `${GiB} ${expected.digest("hex")}`, "the guest got every byte, in order, then the client's end");

      const down = await requestTunnel(agent.socketPath, upgrade(downloadSource.port));
      const got = createHash("sha256").update(Uint8Array.from(down.rest));
      let gotBytes = down.rest.length;
      down.socket.on("data", (chunk: Buffer) => {
        got.update(chunk);
        gotBytes += chunk.length;
      });
      await new Promise((resolve) => down.socket.once("end", resolve).resume());
      down.socket.end();
      const reference = createHash("sha256");
      for (let i = 0; i < 1024; i++) reference.update(block(i));
      assert.equal(gotBytes, GiB);
      assert.equal(got.digest("hex"), reference.digest("hex"));
    } finally {
      clearInterval(sampler);
      uploadSink.server.close();
      downloadSource.server.close();
    }
    assert.ok(peak - baseline < 96 * MiB, `the daemon grew ${((peak - baseline) / MiB).toFixed(1)} MiB while 2 GiB passed`);
  });

  it("passes each side's half-close on: the guest's end arrives while the client's bytes still go in", async () => {
    let guestGot = "";
    let guestEnded!: () => void;
    const guestDone = new Promise<void>((resolve) => (guestEnded = resolve));
    const guest = await guestServer((socket) => {
      socket.end("bye\n");
      socket.on("data", (chunk: Buffer) => (guestGot += chunk.toString()));
      socket.on("end", () => guestEnded());
    });
    try {
      const { socket, rest } = await requestTunnel(agent.socketPath, upgrade(guest.port));
      assert.equal((await readToEnd(socket, rest)).toString(), "bye\n", "the guest's end of writing reached the client");
      socket.end("still talking after your end\n");
      await guestDone;
    } finally {
      guest.server.close();
    }
    assert.equal(guestGot, "still talking after your end\n");
  });

  describe("refusals, before switching protocols", () => {
    const refusal = async (headers: string, path?: string): Promise<{ status: number; body: Record<string, string> }> => {
      const { head, socket, rest } = await requestTunnel(agent.socketPath, headers, path);
      const body = JSON.parse((await readToEnd(socket, rest)).toString()) as Record<string, string>;
      return { status: Number(head.split(" ")[1]), body };
    };

    it("answers 502 with a JSON error when nothing listens on the guest port", async () => {
      const port = await freePort();
      const { status, body } = await refusal(upgrade(port));
      assert.equal(status, 502);
      assert.equal(body.code, "tunnel_refused");
      assert.match(body.error ?? "", new RegExp(`guest port ${port}`));
    });

    it("answers 400 to a missing or invalid Tunnel-Port, and 426 without Upgrade: tunnel", async () => {
      assert.deepEqual((await refusal("Connection: Upgrade\r\nUpgrade: tunnel\r\n")).status, 400);
      for (const bad of ["abc", "0", "70000", "-1"]) assert.equal((await refusal(upgrade(bad))).status, 400, bad);
      const plain = await refusal("");
      assert.equal(plain.status, 426);
      assert.equal(plain.body.code, "upgrade_required");
    });

    it("answers a vsock tunnel 502 with why the agent cannot open it", async () => {
      const { status, body } = await refusal("Connection: Upgrade\r\nUpgrade: vsock\r\nVsock-Port: 1024\r\n", "/api/v1/vsock-connect");
      assert.equal(status, 502);
      assert.equal(body.code, "vsock_unavailable");
    });
  });
});
