import assert from "node:assert/strict";
import { request } from "node:http";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";

/** Sends a body and says what came back: the status, or the error that took its place. */
function post(where: { socketPath: string } | { host: string; port: string }, path: string, body: Buffer, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ ...where, method: "POST", path, headers: { "Content-Type": "application/json", "Content-Length": body.length, ...headers }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(body);
  });
}

/**
 * A request refused before its body is read (an unknown route, a foreign origin) still gets its
 * answer: the daemon reads the rest of the body first, instead of closing on a client that is
 * still sending, which resets the connection and can take the answer with it.
 */
describe("security: answers given before the body is read", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-early-");
  const body = Buffer.alloc(8 * 1024 * 1024, "a");
  let daemon: DaemonProcess;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0"], env: { HOME: home.path } });
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  it("answers 8 MB requests to an unknown route, or from a foreign origin, on both surfaces", async () => {
    const url = new URL(daemon.endpoints.http ?? "");
    const tcp = { host: url.hostname, port: url.port };
    const unix = { socketPath: daemon.endpoints.host_api.local ?? "" };
    const cases: [typeof tcp | typeof unix, string, Record<string, string>, string][] = [
      [tcp, "/api/v2/nope", {}, "404"],
      [tcp, "/api/v2/terminals", { Origin: "http://evil.example" }, "403"],
      [unix, "/api/v1/nope", {}, "404"],
      [unix, "/api/v1/exec", { Origin: "http://evil.example" }, "403"],
    ];
    const seen: string[] = [];
    const expected: string[] = [];
    for (const [where, path, headers, status] of cases) {
      for (let i = 0; i < 5; i++) {
        seen.push(`${path} ${await post(where, path, body, headers)}`);
        expected.push(`${path} ${status}`);
      }
    }
    assert.deepEqual(seen, expected);
  });
});
