import assert from "node:assert/strict";
import { request } from "node:http";
import { join } from "node:path";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { parseResponse, rawExchange, tcpOf, type Where } from "../helpers/raw-http";
import { tempDir } from "../helpers/tmp";

/** The bound the daemon runs with here (`--client-timeout`), short so the test is quick. */
const BOUND_MS = 1000;

interface Paced {
  readonly where: Where;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly chunks: readonly Buffer[];
  readonly everyMs: number;
}

/** A request whose body flows steadily, one chunk every `everyMs`, however long that takes in all. */
function pacedUpload(upload: Paced): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const length = upload.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const target = typeof upload.where === "string" ? { socketPath: upload.where } : { host: upload.where.host, port: upload.where.port };
    const req = request({ ...target, method: upload.method, path: upload.path, headers: { ...upload.headers, "Content-Length": length }, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
    });
    req.on("error", reject);
    let next = 0;
    const timer = setInterval(() => {
      const chunk = upload.chunks[next++];
      if (chunk) req.write(chunk);
      if (next >= upload.chunks.length) {
        clearInterval(timer);
        req.end();
      }
    }, upload.everyMs);
  });
}

/**
 * A client that stops sending holds a connection and a request in the daemon: headers must come
 * within the bound, and a body may not pause longer than it. Each gets a JSON 408 and the
 * connection closes; a large body that keeps flowing is never cut.
 */
describe("security: slow and stalled clients", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-slow-");
  let daemon: DaemonProcess;
  let surfaces: { name: string; where: Where; host: string; reason: (body: Record<string, unknown>) => unknown }[];

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0", "--client-timeout", String(BOUND_MS)], env: { HOME: home.path, SHELL: "/bin/sh" } });
    const tcp = tcpOf(daemon.endpoints.http ?? "");
    surfaces = [
      { name: "Terminal API", where: tcp, host: `127.0.0.1:${tcp.port}`, reason: (body) => body.error },
      { name: "Host API", where: daemon.endpoints.host_api.local ?? "", host: "localhost", reason: (body) => body.code },
    ];
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  /** Sends `bytes`, then nothing: the answer must be a JSON 408 and a closed connection within the bound. */
  async function assertTimedOut(where: Where, bytes: string, reason: (body: Record<string, unknown>) => unknown, what: string): Promise<void> {
    const { data, ms } = await rawExchange(where, bytes, 10_000);
    const reply = parseResponse(data);
    assert.equal(reply.status, 408, `${what}: ${data}`);
    assert.match(reply.headers["content-type"] ?? "", /^application\/json/, what);
    assert.equal(reason(JSON.parse(reply.body) as Record<string, unknown>), "request_timeout", `${what}: ${reply.body}`);
    assert.ok(ms >= BOUND_MS * 0.9 && ms < BOUND_MS * 3 + 500, `${what}: answered after ${ms} ms, the bound is ${BOUND_MS} ms`);
  }

  it("answers a body that stalls with 408 request_timeout in the surface's JSON, then closes", async () => {
    for (const surface of surfaces) {
      const path = surface.name === "Host API" ? "/api/v1/exec" : "/api/v2/terminals";
      const head = `POST ${path} HTTP/1.1\r\nHost: ${surface.host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
      await assertTimedOut(surface.where, `${head}{"comm`, surface.reason, `${surface.name}, a partial body`);
    }
  });

  it("answers headers that never end with 408 request_timeout in the surface's JSON, then closes", async () => {
    for (const surface of surfaces) {
      await assertTimedOut(surface.where, `GET /health HTTP/1.1\r\nHost: ${surface.host}\r\nX-Slow: 1`, surface.reason, `${surface.name}, partial headers`);
    }
  });

  it("drops a client that connects and sends nothing within the bound", async () => {
    for (const surface of surfaces) {
      const { data, ms } = await rawExchange(surface.where, "", 10_000);
      assert.ok(ms < BOUND_MS * 3 + 500, `${surface.name}: a silent client was held ${ms} ms, the bound is ${BOUND_MS} ms`);
      assert.ok(data === "" || parseResponse(data).status === 408, `${surface.name}: ${data}`);
    }
  });

  it("takes a large body that keeps flowing for several times the bound", async () => {
    const chunks = Array.from({ length: 32 }, (_, i) => Buffer.alloc(64 * 1024, 65 + (i % 26)));
    const target = join(home.path, "steady.bin");
    const hostApi = surfaces[1]?.where ?? "";
    const upload = await pacedUpload({ where: hostApi, method: "PUT", path: `/api/v1/files${target}`, headers: { Host: "localhost" }, chunks, everyMs: 100 });
    assert.equal(upload.status, 200, upload.body);
    assert.deepEqual(JSON.parse(upload.body), { path: target, size: 32 * 64 * 1024 });
    assert.ok(upload.ms > BOUND_MS * 2, `the upload took ${upload.ms} ms, longer than the bound`);

    const tcp = surfaces[0];
    const json = [Buffer.from('{"text": "x"'), ...Array.from({ length: 25 }, () => Buffer.from(" ".repeat(1000))), Buffer.from("}")];
    const missing = "00000000-0000-4000-8000-000000000000";
    const slowJson = await pacedUpload({
      where: tcp?.where ?? "",
      method: "POST",
      path: `/api/v2/terminals/${missing}/input`,
      headers: { Host: tcp?.host ?? "", "Content-Type": "application/json" },
      chunks: json,
      everyMs: 100,
    });
    assert.equal(slowJson.status, 404, `the whole body was read and parsed: ${slowJson.body}`);
    assert.equal((JSON.parse(slowJson.body) as { error: string }).error, "terminal_not_found");
  });
});
