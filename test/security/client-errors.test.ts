import assert from "node:assert/strict";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { parseResponse, rawExchange, tcpOf, type Where } from "../helpers/raw-http";
import { tempDir } from "../helpers/tmp";

interface SurfaceUnderTest {
  readonly name: string;
  readonly where: Where;
  readonly host: string;
  /** The machine reason and the human message, as the surface's error dialect places them. */
  readonly read: (body: Record<string, unknown>) => { reason: unknown; message: unknown };
}

/**
 * Requests Node's HTTP parser refuses before the gateway sees them: they get the surface's JSON
 * error like every other failure, never an empty body a client cannot explain, and the connection
 * closes.
 */
describe("security: requests the HTTP parser refuses", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-parse-");
  let daemon: DaemonProcess;
  let surfaces: SurfaceUnderTest[];

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0"], env: { HOME: home.path } });
    const tcp = tcpOf(daemon.endpoints.http ?? "");
    surfaces = [
      { name: "Terminal API", where: tcp, host: `127.0.0.1:${tcp.port}`, read: (body) => ({ reason: body.error, message: body.message }) },
      { name: "Host API", where: daemon.endpoints.host_api.local ?? "", host: "localhost", read: (body) => ({ reason: body.code, message: body.error }) },
    ];
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  async function assertJsonError(surface: SurfaceUnderTest, bytes: string, status: number, reason: string): Promise<void> {
    const what = `${surface.name}, ${reason}`;
    const { data } = await rawExchange(surface.where, bytes, 10_000);
    const reply = parseResponse(data);
    assert.equal(reply.status, status, `${what}: ${data.slice(0, 300)}`);
    assert.match(reply.headers["content-type"] ?? "", /^application\/json/, what);
    assert.equal(Number(reply.headers["content-length"]), Buffer.byteLength(reply.body), what);
    const error = surface.read(JSON.parse(reply.body) as Record<string, unknown>);
    assert.equal(error.reason, reason, `${what}: ${reply.body}`);
    assert.ok(typeof error.message === "string" && error.message.length > 0, `${what}: ${reply.body}`);
  }

  it("answers a malformed request line with 400 bad_request", async () => {
    for (const surface of surfaces) await assertJsonError(surface, "NOT AN HTTP REQUEST\r\n\r\n", 400, "bad_request");
  });

  it("answers an Expect it cannot meet with 417 expectation_failed", async () => {
    for (const surface of surfaces) {
      const request = `POST /api/v1/exec HTTP/1.1\r\nHost: ${surface.host}\r\nExpect: something-else\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
      await assertJsonError(surface, request, 417, "expectation_failed");
    }
  });

  it("answers headers over the limit with 431 headers_too_large", async () => {
    for (const surface of surfaces) {
      const request = `GET /health HTTP/1.1\r\nHost: ${surface.host}\r\nX-Big: ${"a".repeat(20 * 1024)}\r\n\r\n`;
      await assertJsonError(surface, request, 431, "headers_too_large");
    }
  });
});
