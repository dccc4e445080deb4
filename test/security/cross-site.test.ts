import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { call, type Reply } from "../helpers/http";
import { parseResponse, rawExchange, tcpOf } from "../helpers/raw-http";
import { tempDir } from "../helpers/tmp";
import { program, requireTools } from "../helpers/tools";

const execFileAsync = promisify(execFile);

/**
 * A page in a browser, or a request relayed through a project's own web service on another
 * loopback port, must not reach the Terminal API: it runs commands. Only the API's own origin,
 * a Host naming this listener, and JSON bodies get through.
 */
describe("security: cross-site requests to the HTTP listener", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-xsite-");
  let daemon: DaemonProcess;
  let base: string;
  let port: number;
  let hostApi: string;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0"], env: { HOME: home.path, SHELL: "/bin/sh" } });
    base = daemon.endpoints.http ?? "";
    port = Number(new URL(base).port);
    hostApi = daemon.endpoints.host_api.local ?? "";
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  const get = (headers: Record<string, string>): Promise<Reply> => call({ base, path: "/api/v2/", headers });
  const terminalCount = async (): Promise<number> => (await call({ base, path: "/api/v2/terminals" })).json<{ terminals: unknown[] }>().terminals.length;

  function assertRefused(reply: Reply, status: number, error: string, what: string): void {
    assert.equal(reply.status, status, `${what}: ${reply.status} ${reply.text}`);
    assert.equal(reply.json().error, error, what);
    assert.equal(typeof reply.json().message, "string", what);
  }

  it("refuses a terminal asked for by a page on another loopback port with a text/plain body", async () => {
    const before = await terminalCount();
    const reply = await call({
      base,
      method: "POST",
      path: "/api/v2/terminals",
      headers: { Origin: "http://127.0.0.1:46001", "Content-Type": "text/plain" },
      body: JSON.stringify({ command: "echo pwned" }),
    });
    assertRefused(reply, 403, "forbidden", "Origin http://127.0.0.1:46001");
    assert.equal(await terminalCount(), before, "no terminal was created");
  });

  it("answers only a Host that names this listener: localhost or its own address, with its port", async () => {
    const refused = [`evil.localhost:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, `localhost:${port + 1}`, "localhost", "127.0.0.1", `attacker.example:${port}`, `localhost.:${port}`, `127.0.0.1:${port}@evil`];
    for (const host of refused) assertRefused(await get({ Host: host }), 403, "forbidden", `Host ${host}`);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LocalHost:${port}`]) assert.equal((await get({ Host: host })).status, 200, `Host ${host}`);
    const { data } = await rawExchange(tcpOf(base), "GET /api/v2/ HTTP/1.1\r\nConnection: close\r\n\r\n");
    const noHost = parseResponse(data);
    assert.equal(noHost.status, 403, data);
    assert.equal((JSON.parse(noHost.body) as { error: string }).error, "forbidden");
  });

  it("trusts no Origin but its own: scheme, host and port as the listener was reached", async () => {
    const self = `127.0.0.1:${port}`;
    const refused = [
      "http://127.0.0.1:46001",
      `http://evil.localhost:${port}`,
      `http://localhost:${port}`,
      `https://127.0.0.1:${port}`,
      "http://127.0.0.1",
      `http://127.0.0.2:${port}`,
      "null",
      "https://attacker.example",
    ];
    for (const origin of refused) assertRefused(await get({ Host: self, Origin: origin }), 403, "forbidden", `Origin ${origin}`);
    assert.equal((await get({ Host: self, Origin: `http://${self}` })).status, 200);
    assert.equal((await get({ Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).status, 200);
    assert.equal((await get({ Host: self })).status, 200, "no Origin at all, as curl sends");
  });

  it("refuses any Sec-Fetch-Site but same-origin and none", async () => {
    for (const site of ["same-site", "cross-site", "something-new"]) assertRefused(await get({ "Sec-Fetch-Site": site }), 403, "forbidden", `Sec-Fetch-Site ${site}`);
    for (const site of ["same-origin", "none"]) assert.equal((await get({ "Sec-Fetch-Site": site })).status, 200, `Sec-Fetch-Site ${site}`);
  });

  it("takes a request body only as application/json: 415 unsupported_media_type otherwise", async () => {
    const before = await terminalCount();
    const types = [undefined, "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", "application/json-seq", "json"];
    for (const type of types) {
      const headers: Record<string, string> = type === undefined ? {} : { "Content-Type": type };
      const reply = await call({ base, method: "POST", path: "/api/v2/terminals", headers, body: "{}" });
      assertRefused(reply, 415, "unsupported_media_type", `Content-Type ${type ?? "(none)"}`);
    }
    assert.equal(await terminalCount(), before, "no terminal was created");
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]) {
      const reply = await call({ base, method: "POST", path: `/api/v2/terminals/${missing}/input`, headers: { "Content-Type": type }, body: '{"text": "x"}' });
      assertRefused(reply, 404, "terminal_not_found", `Content-Type ${type} reaches the terminal`);
    }
    // No body, no type: nothing to read as anything else.
    assertRefused(await call({ base, method: "POST", path: `/api/v2/terminals/${missing}/focus` }), 404, "terminal_not_found", "no body");
  });

  it("gives a foreign preflight no CORS headers", async () => {
    for (const origin of ["https://attacker.example", "http://127.0.0.1:46001"]) {
      const reply = await call({
        base,
        method: "OPTIONS",
        path: "/api/v2/terminals",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
      });
      assert.equal(reply.status, 403, origin);
      assert.deepEqual(Object.keys(reply.headers).filter((name) => name.startsWith("access-control-")), [], origin);
    }
  });

  it("keeps seed 001's curl examples working, at http://localhost:<port>", async function () {
    requireTools(this, [program("curl", "curl")]);
    const api = `http://localhost:${port}/api/v2`;
    const curl = async (...args: string[]): Promise<{ status: number; body: string }> => {
      const { stdout } = await execFileAsync("curl", ["-s", "-w", "\n%{http_code}", ...args]);
      const at = stdout.lastIndexOf("\n");
      return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
    };
    const json = ["-H", "Content-Type: application/json"];
    const created = await curl("-X", "POST", `${api}/terminals`, ...json, "-d", '{\n    "location": "tab",\n    "working_directory": "/tmp"\n  }');
    assert.equal(created.status, 200, created.body);
    const id = (JSON.parse(created.body) as { id: string }).id;
    const steps = [
      await curl("-X", "POST", `${api}/terminals/${id}/input`, ...json, "-d", '{"text": "git status", "enter": true}'),
      await curl(`${api}/terminals/${id}/screen`),
      await curl("-X", "POST", `${api}/terminals/${id}/key`, ...json, "-d", '{"key": "c", "mods": ["control"]}'),
      await curl(`${api}/terminals/${id}/details/selection`),
      await curl("-X", "POST", `http://localhost:${port}/api/v2/quick-terminal`, ...json, "-d", "{}"),
      await curl("-X", "DELETE", `${api}/terminals/${id}`),
    ];
    assert.deepEqual(steps.map((step) => step.status), steps.map(() => 200), steps.map((step) => step.body).join("\n"));
  });

  it("keeps seed 000's curl examples on the Host API working, and takes any body type there", async function () {
    requireTools(this, [program("curl", "curl")]);
    const health = await execFileAsync("curl", ["-s", "--unix-socket", hostApi, "http://localhost/health"]);
    assert.equal((JSON.parse(health.stdout) as { status: string }).status, "ok");
    const exec = ["-X", "POST", "-d", '{"command":"uname","args":["-a"]}', "http://localhost/api/v1/exec"];
    for (const args of [["-H", "Content-Type: application/json", ...exec], exec]) {
      const { stdout } = await execFileAsync("curl", ["-s", "--unix-socket", hostApi, ...args]);
      assert.equal((JSON.parse(stdout) as { exitCode: number }).exitCode, 0, `${args.join(" ")}: ${stdout}`);
    }
  });
});
