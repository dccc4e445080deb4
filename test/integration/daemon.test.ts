import { ImportPackageRequest, SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { credentials, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot, version } from "../../cli/package-info";
import { reasonOf } from "../../gateway/transcoder/errors";
import { runGhostd, spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { healthCheck, reflectedServices } from "../helpers/grpc";
import { call, JSON_TYPE } from "../helpers/http";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

const execFileAsync = promisify(execFile);

// Seed 001's discovery response, in its order.
const SEED_ENDPOINTS = [
  "GET /api/v2/terminals",
  "GET /api/v2/terminals/focused",
  "GET /api/v2/terminals/{id}",
  "POST /api/v2/terminals",
  "DELETE /api/v2/terminals/{id}",
  "POST /api/v2/terminals/{id}/focus",
  "POST /api/v2/terminals/{id}/input",
  "POST /api/v2/terminals/{id}/output",
  "POST /api/v2/terminals/{id}/statusbar",
  "POST /api/v2/terminals/{id}/action",
  "POST /api/v2/terminals/{id}/key",
  "POST /api/v2/terminals/{id}/mouse/button",
  "POST /api/v2/terminals/{id}/mouse/position",
  "POST /api/v2/terminals/{id}/mouse/scroll",
  "GET /api/v2/terminals/{id}/screen",
  "GET /api/v2/terminals/{id}/details/{type}",
  "POST /api/v2/quick-terminal",
  "GET /api/v2/commands",
];

/** Raw bytes to a Unix socket, everything read until the server closes. */
function rawExchange(socketPath: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let data = "";
    const timer = setTimeout(() => reject(new Error(`the server did not close the connection; got: ${data}`)), 5000);
    socket.on("data", (chunk) => (data += chunk.toString()));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.write(request);
  });
}

describe("ghostd serve", function () {
  let daemon: DaemonProcess;
  let http: string;
  let hostApi: string;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--max-body", "4k", "--max-upload", "16k"] });
    http = daemon.endpoints.http ?? "";
    hostApi = daemon.endpoints.host_api.local ?? "";
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
  });

  describe("start-up", () => {
    it("writes endpoints.json and logs one line saying where it listens", async () => {
      assert.equal(daemon.endpoints.grpc, `unix:${join(daemon.home, "run", "ghostd.sock")}`);
      assert.match(http, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(hostApi, join(daemon.home, "api", "local.GhostVM.sock"));
      const line = await waitFor("the listening line", () => daemon.output().split("\n").find((l) => l.includes("ghostd listening")));
      assert.match(line, /gRPC unix:.*HTTP http:\/\/127\.0\.0\.1.*Host API local unix:/);
    });

    it("keeps its sockets owner-only", () => {
      const mode = (path: string): number => statSync(path).mode & 0o777;
      assert.equal(mode(join(daemon.home, "run")), 0o700);
      assert.equal(mode(join(daemon.home, "run", "ghostd.sock")), 0o600);
      assert.equal(mode(join(daemon.home, "api")), 0o700);
      assert.equal(mode(hostApi), 0o600);
    });
  });

  describe("gRPC", () => {
    it("answers the standard health check SERVING for the server and each service", async () => {
      const target = daemon.endpoints.grpc ?? "";
      for (const service of ["", "ghostd.supervisor.v1.Supervisor", "ghostd.agent.v1.GuestAgent", "ghostd.terminal.v1.Terminals"]) {
        assert.equal(await healthCheck(target, service), "SERVING", service);
      }
    });

    it("lists the three services through reflection", async () => {
      const services = await reflectedServices(daemon.endpoints.grpc ?? "");
      for (const name of ["ghostd.agent.v1.GuestAgent", "ghostd.supervisor.v1.Supervisor", "ghostd.terminal.v1.Terminals", "grpc.health.v1.Health"]) {
        assert.ok(services.includes(name), `${name} in ${services.join(", ")}`);
      }
    });

    it("answers a seed error with its reason in ErrorInfo: ImportPackage of a missing file is PATH_NOT_FOUND", async () => {
      const client = new SupervisorClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
      const err = await new Promise<ServiceError | null>((resolve) => client.importPackage(ImportPackageRequest.fromPartial({ packageDataPath: "/nonexistent/p.vibeapp" }), (e) => resolve(e)));
      client.close();
      assert.equal(err?.code, GrpcStatus.NOT_FOUND);
      assert.match(err.details, /no package at \/nonexistent\/p\.vibeapp/);
      assert.equal(reasonOf(err), "PATH_NOT_FOUND");
    });
  });

  describe("Terminal API surface", () => {
    it("answers seed 001's discovery response from the route table, additions last", async () => {
      for (const path of ["/api/v2/", "/api/v2"]) {
        const reply = await call({ base: http, path });
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.json(), {
          version: "2",
          endpoints: [...SEED_ENDPOINTS, "POST /api/v2/terminals/{id}/wait", "GET /api/v2/terminals/{id}/screen/watch", "GET /api/v2/terminals/{id}/attach"],
        });
      }
    });

    it("serves an OpenAPI document of every route", async () => {
      const doc = (await call({ base: http, path: "/openapi.json" })).json<{ paths: Record<string, Record<string, unknown>> }>();
      assert.ok(doc.paths["/api/v2/terminals/{id}/mouse/button"]?.post);
      assert.ok(doc.paths["/api/v1/surfaces"]?.get);
      assert.ok(doc.paths["/v1/projects/{project_id}:start"]?.post);
      assert.ok(doc.paths["/v1/projects/{project_id}/logs"]?.get);
    });

    it("serves the OpenAPI documents the typed client is generated from, as committed", async () => {
      const served = [(await call({ base: http, path: "/openapi.json" })).json(), (await call({ socketPath: hostApi, path: "/openapi.json" })).json()];
      const committed = ["terminal-api", "host-api"].map((surface) => JSON.parse(readFileSync(join(packageRoot, "generated", "openapi", `${surface}.json`), "utf8")) as unknown);
      assert.deepEqual(served, committed, "run npm run generate");
    });

    it("answers a supervisor error in the seed's error format: POST /v1/packages:import of a missing file is 404", async () => {
      const reply = await call({ base: http, method: "POST", path: "/v1/packages:import", headers: JSON_TYPE, body: JSON.stringify({ package_data_path: "/nonexistent/p.vibeapp" }) });
      assert.equal(reply.status, 404);
      assert.deepEqual(reply.json(), { error: "PATH_NOT_FOUND", message: "no package at /nonexistent/p.vibeapp" });
    });

    it("checks the request before calling: 400 invalid_json and missing_field", async () => {
      const bad = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/api/v2/terminals/x/input", body: "{not json" });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().error, "invalid_json");
      const typed = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/api/v2/terminals/x/input", body: '{"text": 5}' });
      assert.equal(typed.status, 400);
      assert.equal(typed.json().error, "invalid_json");
      const missing = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/api/v2/terminals/x/input", body: '{"enter": true}' });
      assert.deepEqual(missing.json(), { error: "missing_field", message: 'missing required field "text"' });
      const enumValue = await call({ base: http, path: "/v1/projects?filter_status=sleeping" });
      assert.equal(enumValue.status, 400);
    });

    it("answers 404 for an unknown path and 405 with Allow for a wrong method", async () => {
      const missing = await call({ base: http, path: "/api/v3/terminals" });
      assert.equal(missing.status, 404);
      assert.equal(missing.json().error, "not_found");
      const wrong = await call({ base: http, method: "PUT", path: "/api/v2/terminals" });
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.allow, "GET, POST");
    });

    it("answers 413 for a body over --max-body", async () => {
      const reply = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/api/v2/terminals", body: JSON.stringify({ command: "x".repeat(5000) }) });
      assert.equal(reply.status, 413);
      assert.equal(reply.json().error, "payload_too_large");
    });

    it("refuses DNS-rebound and cross-site browser requests with 403", async () => {
      const attempts: Record<string, string>[] = [{ Host: "attacker.example:19999" }, { Origin: "https://attacker.example" }, { Origin: "null" }, { "Sec-Fetch-Site": "cross-site" }];
      for (const headers of attempts) {
        const reply = await call({ base: http, path: "/api/v2/", headers });
        assert.equal(reply.status, 403, JSON.stringify(headers));
        assert.equal(reply.json().error, "forbidden");
      }
      const self = new URL(http).host;
      const local = await call({ base: http, path: "/api/v2/", headers: { Host: self, Origin: `http://${self}`, "Sec-Fetch-Site": "same-origin" } });
      assert.equal(local.status, 200);
      // Another loopback port is another origin: a project's web page, say.
      const neighbour = await call({ base: http, path: "/api/v2/", headers: { Origin: "http://127.0.0.1:3000" } });
      assert.equal(neighbour.status, 403);
    });
  });

  describe("Host API surface", () => {
    it("answers /health for the seed's curl example, with Connection: close", async () => {
      const { stdout } = await execFileAsync("curl", ["-s", "-i", "--unix-socket", hostApi, "http://localhost/health"]);
      assert.match(stdout, /^HTTP\/1\.1 200 OK/);
      assert.match(stdout, /\r\nConnection: close\r\n/i);
      assert.ok(stdout.endsWith(JSON.stringify({ status: "ok", version })), stdout);
    });

    it("lets the seed's Python example read until EOF", async () => {
      const script = [
        "import socket",
        `sock_path = ${JSON.stringify(hostApi)}`,
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
        "s.connect(sock_path)",
        'request = "GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 0\\r\\n\\r\\n"',
        "s.sendall(request.encode())",
        'response = b""',
        "while True:",
        "    chunk = s.recv(4096)",
        "    if not chunk:",
        "        break",
        "    response += chunk",
        "print(response.decode())",
        "s.close()",
      ].join("\n");
      const { stdout } = await execFileAsync("python3", ["-c", script], { timeout: 10_000 });
      assert.match(stdout, /^HTTP\/1\.1 200 OK/);
      assert.match(stdout, /{"status":"ok","version":"[^"]+"}/);
    });

    it("closes the connection after one response even when the client asks to keep it", async () => {
      const request = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n";
      const data = await rawExchange(hostApi, request + request);
      assert.equal((data.match(/^HTTP\/1\.1 /gm) ?? []).length, 1, `one response, then the close: ${data}`);
      assert.match(data, /^HTTP\/1\.1 200 OK/);
    });

    it("speaks GhostVM's error format: {error: message, code: reason}", async () => {
      const bad = await call({ socketPath: hostApi, method: "POST", path: "/api/v1/exec", body: "{" });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().code, "invalid_json");
      assert.match(String(bad.json().error), /not valid JSON/);
      assert.equal(bad.headers.connection, "close");
      const missing = await call({ socketPath: hostApi, method: "POST", path: "/api/v1/exec", body: "{}" });
      assert.deepEqual(missing.json(), { error: 'missing required field "command"', code: "missing_field" });
      const wrongType = await call({ socketPath: hostApi, method: "POST", path: "/api/v1/exec", body: '{"command":"uname","args":"-a"}' });
      assert.deepEqual([wrongType.status, wrongType.json().code], [400, "invalid_json"]);
    });

    it("answers 404, 405, 413 and 403 in that format", async () => {
      const missing = await call({ socketPath: hostApi, path: "/api/v2/terminals" });
      assert.deepEqual([missing.status, missing.json().code], [404, "not_found"]);
      const wrong = await call({ socketPath: hostApi, method: "DELETE", path: "/health" });
      assert.deepEqual([wrong.status, wrong.json().code, wrong.headers.allow], [405, "method_not_allowed", "GET"]);
      const big = await call({ socketPath: hostApi, method: "POST", path: "/api/v1/exec", body: JSON.stringify({ command: "x".repeat(8192) }) });
      assert.deepEqual([big.status, big.json().code], [413, "payload_too_large"]);
      const upload = await call({ socketPath: hostApi, method: "POST", path: "/api/v1/clipboard", body: Buffer.alloc(20 * 1024) });
      assert.deepEqual([upload.status, upload.json().code], [413, "payload_too_large"]);
      const browser = await call({ socketPath: hostApi, path: "/health", headers: { Origin: "https://attacker.example" } });
      assert.deepEqual([browser.status, browser.json().code], [403, "forbidden"]);
    });
  });
});

describe("ghostd lifecycle", () => {
  it("shuts down on SIGTERM and SIGINT, removing its sockets and endpoints file", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const daemon = await spawnDaemon();
      const paths = [join(daemon.home, "run", "ghostd.sock"), daemon.endpoints.host_api.local ?? "", join(daemon.home, "run", "endpoints.json")];
      for (const path of paths) assert.ok(existsSync(path), path);
      assert.equal(await daemon.stop(signal), 0, daemon.output());
      for (const path of paths) assert.ok(!existsSync(path), `${path} removed after ${signal}`);
      assert.match(daemon.output(), /"msg":"stopped"/);
      daemon.cleanup();
    }
  });

  it("replaces a stale socket, and refuses to start where another daemon listens", async () => {
    const home = tempDir();
    const stale = join(home.path, "run", "ghostd.sock");
    await execFileAsync("mkdir", ["-p", join(home.path, "run")]);
    // A process that bound the socket and died without removing it, as a crashed daemon leaves it.
    await execFileAsync("python3", ["-c", `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    assert.ok(statSync(stale).isSocket());

    const first = await spawnDaemon({ home: home.path });
    const second = await runGhostd(["serve", "--home", home.path, "--http", "127.0.0.1:0"]);
    assert.equal(second.code, 1);
    assert.match(second.output, new RegExp(`another ghostd \\(pid ${first.child.pid}\\) is running on ${home.path}`));
    assert.equal(await first.stop(), 0);
    home.remove();
  });

  it("refuses a non-loopback --http address unless --allow-remote is given", async () => {
    const home = tempDir();
    const refused = await runGhostd(["serve", "--home", home.path, "--http", "0.0.0.0:0"]);
    assert.equal(refused.code, 1);
    assert.match(refused.output, /refusing to listen on 0\.0\.0\.0: not a loopback address/);
    const allowed = await spawnDaemon({ home: home.path, args: ["--http", "0.0.0.0:0", "--allow-remote"] });
    assert.match(allowed.endpoints.http ?? "", /^http:\/\/0\.0\.0\.0:\d+$/);
    const port = new URL(allowed.endpoints.http ?? "").port;
    const reply = await call({ base: `http://127.0.0.1:${port}`, path: "/api/v2/", headers: { Host: "devbox.lan:80" } });
    assert.equal(reply.status, 200, "--allow-remote accepts any Host");
    await allowed.stop();
    home.remove();
  });

  it("exits with a clear message when its HTTP port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const home = tempDir();
    const result = await runGhostd(["serve", "--home", home.path, "--http", `127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.match(result.output, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
    assert.ok(!existsSync(join(home.path, "run", "ghostd.sock")), "what had started is closed again");
    blocker.close();
    home.remove();
  });

  it("runs the halves apart: agent, and a gateway in front of it over TCP", async () => {
    const agent = await spawnDaemon({ mode: "agent", args: ["--grpc-tcp", "127.0.0.1:0"] });
    assert.equal(agent.endpoints.http, undefined);
    assert.deepEqual(agent.endpoints.host_api, {});
    const tcp = agent.endpoints.grpc_tcp ?? "";
    assert.match(tcp, /^127\.0\.0\.1:\d+$/);
    assert.equal(await healthCheck(tcp, ""), "SERVING");
    const gateway = await spawnDaemon({ mode: "gateway", args: ["--target", tcp, "--vm", "dev", "--http", "off"] });
    assert.equal(gateway.endpoints.grpc, undefined);
    assert.equal(gateway.endpoints.http, undefined);
    const reply = await call({ socketPath: gateway.endpoints.host_api.dev ?? "", path: "/health" });
    assert.deepEqual(reply.json(), { status: "ok", version });
    await gateway.stop();
    await agent.stop();
    gateway.cleanup();
    agent.cleanup();
  });

  it("answers 503 {status: unreachable} when the guest cannot be reached", async () => {
    const gateway = await spawnDaemon({ mode: "gateway", args: ["--target", "unix:/nonexistent/ghostd.sock", "--http", "off"] });
    const reply = await call({ socketPath: gateway.endpoints.host_api.local ?? "", path: "/health" });
    assert.equal(reply.status, 503);
    const body = reply.json<{ status: string; error: string; code: string }>();
    assert.equal(body.status, "unreachable");
    assert.equal(body.code, "unavailable");
    assert.ok(body.error.length > 0);
    await gateway.stop();
    gateway.cleanup();
  });
});
