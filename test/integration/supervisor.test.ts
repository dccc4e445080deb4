import { status as Code, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import {
  DeleteProjectRuntimeRequest,
  EnsureProjectRequest,
  GetProjectStatusRequest,
  ListProjectsRequest,
  OpenProjectRequest,
  ProjectStatus,
  ResolvePortsRequest,
  ServiceState,
  StartProjectRequest,
  StopProjectRequest,
  ValidateComposeRequest,
  type DeleteProjectRuntimeResponse,
  type EnsureProjectResponse,
  type GetProjectStatusResponse,
  type ListProjectsResponse,
  type OpenProjectResponse,
  type ResolvePortsResponse,
  type StartProjectResponse,
  type StopProjectResponse,
  type SupervisorClient,
  type ValidateComposeResponse,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { call, JSON_TYPE, ndjson } from "../helpers/http";
import { alive, composeManifest, errorMetadataOf, failsWith, followLogs, supervisorClient, tailLogs, unary, writePackage } from "../helpers/supervisor";
import { closeServer, listen, portOf } from "../helpers/ports";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

const TODO = join(packageRoot, "examples", "todo");

/** A small HTTP server a service runs: answers its name and a counter on $PORT. */
const HTTP_SERVICE = `
const http = require("node:http");
let hits = 0;
http.createServer((req, res) => {
  console.log(req.method + " " + req.url);
  res.end(JSON.stringify({ service: process.env.GHOSTD_SERVICE, hits: ++hits, url: req.url }));
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT));
`;

function get(port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}



describe("supervisor", function () {
  this.timeout(60_000);
  let daemon: DaemonProcess;
  let client: SupervisorClient;
  let http: string;
  let work: ReturnType<typeof tempDir>;
  let counter = 0;

  before(async () => {
    work = tempDir();
    // The process runtime alone, engine or not: these tests are of it (containers: containers.test.ts).
    daemon = await spawnDaemon({ args: ["--port-range", "46000-46199", "--log-level", "warn", "--runtime", "process"] });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
    http = daemon.endpoints.http ?? "";
  });

  after(async () => {
    client.close();
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  /** A fresh package directory, and a project id to go with it. */
  function newPackage(files: Record<string, string>): { id: string; path: string; state: string } {
    const id = `p${++counter}`;
    const path = writePackage(join(work.path, `pkg-${id}`), files);
    return { id, path, state: join(work.path, `state-${id}`) };
  }

  const ensure = (request: Partial<EnsureProjectRequest>) => unary<EnsureProjectResponse>((cb) => client.ensureProject(EnsureProjectRequest.fromPartial(request), cb));
  const open = (projectId: string) => unary<OpenProjectResponse>((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId }), cb));
  const start = (projectId: string, secrets: Record<string, string> = {}) => unary<StartProjectResponse>((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId, secrets }), cb));
  const stop = (projectId: string, timeoutSeconds?: number) => unary<StopProjectResponse>((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId, timeoutSeconds }), cb));
  const remove = (projectId: string, force = false) => unary<DeleteProjectRuntimeResponse>((cb) => client.deleteProjectRuntime(DeleteProjectRuntimeRequest.fromPartial({ projectId, force }), cb));
  const status = (projectId: string) => unary<GetProjectStatusResponse>((cb) => client.getProjectStatus(GetProjectStatusRequest.fromPartial({ projectId }), cb));
  const list = (filterStatus?: ProjectStatus) => unary<ListProjectsResponse>((cb) => client.listProjects(ListProjectsRequest.fromPartial({ filterStatus }), cb));
  const ports = (projectId: string, refresh = false) => unary<ResolvePortsResponse>((cb) => client.resolvePorts(ResolvePortsRequest.fromPartial({ projectId, refresh }), cb));
  const validate = (text: string) => unary<ValidateComposeResponse>((cb) => client.validateCompose(ValidateComposeRequest.fromPartial({ composeContent: Buffer.from(text) }), cb));

  /** ensure + open + start of a compose package; returns its ids and the start response. */
  async function run(compose: string, files: Record<string, string> = {}, volumes: string[] = [], secrets: Record<string, string> = {}) {
    const pkg = newPackage({ "vibe.yaml": composeManifest(`dev.test.app${counter + 1}`, volumes), "compose.yaml": compose, ...files });
    await ensure({ projectId: pkg.id, appId: `dev.test.app${counter}`, packagePath: pkg.path, statePath: pkg.state });
    await open(pkg.id);
    const started = await start(pkg.id, secrets);
    return { ...pkg, started };
  }

  const serviceOf = (reply: { services: { name: string }[] }, name: string) => {
    const found = reply.services.find((s) => s.name === name);
    assert.ok(found, `service ${name}`);
    return found as GetProjectStatusResponse["services"][number];
  };

  describe("the todo example over HTTP", () => {
    it("goes through ensure, open, start, serving, logs, stop and delete", async () => {
      const state = join(work.path, "todo-state");
      const body = JSON.stringify({ app_id: "dev.ghostd.todo", package_path: TODO, state_path: state });
      const ensured = await call({ base: http, headers: JSON_TYPE, method: "PUT", path: "/v1/projects/todo", body });
      assert.equal(ensured.status, 200, ensured.text);
      assert.deepEqual(Object.keys(ensured.json()).sort(), ["created", "namespace", "project_id"]);
      assert.equal(ensured.json().created, true);
      assert.match(String(ensured.json().namespace), /^ghostd-todo-[0-9a-f]{8}$/);
      const again = await call({ base: http, headers: JSON_TYPE, method: "PUT", path: "/v1/projects/todo", body });
      assert.deepEqual(again.json(), { ...ensured.json(), created: false });

      const opened = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/v1/projects/todo:open", body: "{}" });
      assert.equal(opened.status, 200, opened.text);
      const openedBody = opened.json<{ services: { name: string; status: string }[]; images_pulled: string[]; warnings: string[] }>();
      assert.deepEqual(openedBody.services.map((s) => [s.name, s.status]), [["api", "stopped"], ["web", "stopped"]]);
      assert.deepEqual(openedBody.images_pulled, []);
      assert.ok(!openedBody.warnings.some((w) => w.includes("bubblewrap")), "bubblewrap is installed here (CI installs it), so services run sandboxed");

      const started = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/v1/projects/todo:start", body: "{}" });
      assert.equal(started.status, 200, started.text);
      const startedBody = started.json<{ services: { name: string; status: string; container_id: string; started_at: string }[]; ports: { service_name: string; container_port: number; host_port: number; protocol: string }[] }>();
      assert.deepEqual(startedBody.services.map((s) => [s.name, s.status]), [["api", "running"], ["web", "running"]]);
      for (const service of startedBody.services) {
        assert.match(service.container_id, /^\d+$/);
        assert.match(service.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      }
      const webPort = startedBody.ports.find((p) => p.service_name === "web");
      const apiPort = startedBody.ports.find((p) => p.service_name === "api");
      assert.equal(webPort?.container_port, 8080);
      assert.equal(webPort.protocol, "tcp");
      assert.ok(webPort.host_port >= 46000 && webPort.host_port <= 46199, String(webPort.host_port));
      assert.equal(apiPort?.container_port, 8000);

      // The app answers on its host port: the page, and items through the web front end to the API.
      const page = await waitFor("the web front end to answer", () => get(webPort.host_port).catch(() => undefined));
      assert.equal(page.status, 200);
      assert.match(page.body, /<title>Todo<\/title>/);
      const added = await call({ base: `http://127.0.0.1:${webPort.host_port}`, method: "POST", path: "/api/items", body: '{"text": "write the docs"}' });
      assert.equal(added.status, 201, added.text);
      const items = await call({ base: `http://127.0.0.1:${webPort.host_port}`, path: "/api/items" });
      assert.deepEqual(items.json<{ items: { text: string }[] }>().items.map((i) => i.text), ["write the docs"]);

      const detail = (await call({ base: http, path: "/v1/projects/todo" })).json();
      assert.equal(detail.status, "running");
      assert.equal(detail.app_id, "dev.ghostd.todo");
      assert.equal(detail.version, "1.0.0");
      assert.equal(detail.snapshot_count, 0);
      assert.equal(detail.autosave_enabled, false);
      // The SQLite file of the API is in the project's volume, measured on disk.
      assert.ok(existsSync(join(state, "current", "volumes", "data", "todo.db")));
      assert.ok(Number(detail.state_size_bytes) >= statSync(join(state, "current", "volumes", "data", "todo.db")).size);

      const listed = (await call({ base: http, path: "/v1/projects" })).json<{ projects: Record<string, unknown>[] }>().projects.find((p) => p.project_id === "todo");
      assert.deepEqual(listed, { project_id: "todo", app_id: "dev.ghostd.todo", name: "Todo", status: "running", service_count: 2, port_count: 2 });
      const stoppedOnly = (await call({ base: http, path: "/v1/projects?filter_status=stopped" })).json<{ projects: { project_id: string }[] }>();
      assert.ok(!stoppedOnly.projects.some((p) => p.project_id === "todo"));

      // Logs: the tail as NDJSON, then following while the app works.
      const tail = await call({ base: http, path: "/v1/projects/todo/logs?tail_lines=50&service_name=api" });
      assert.equal(tail.status, 200);
      const entries = ndjson(tail).flatMap((l) => (l.result as { entries: { service_name: string; stream: string; line: string; timestamp: string }[] }).entries);
      assert.ok(entries.some((e) => e.line.startsWith("api: listening on 127.0.0.1:")), JSON.stringify(entries));
      assert.ok(entries.every((e) => e.service_name === "api" && (e.stream === "stdout" || e.stream === "stderr") && !Number.isNaN(Date.parse(e.timestamp))));
      const followed = await followHttp(`/v1/projects/todo/logs?follow=true&service_name=api`, (lines) => lines.some((l) => l.includes('"POST /items')), () =>
        call({ base: `http://127.0.0.1:${webPort.host_port}`, method: "POST", path: "/api/items", body: '{"text": "follow the logs"}' }).then(() => undefined),
      );
      assert.ok(followed.some((l) => l.includes("POST /items")));

      const portsReply = await call({ base: http, path: "/v1/projects/todo/ports" });
      assert.deepEqual(portsReply.json(), { ports: startedBody.ports });

      const pids = startedBody.services.map((s) => Number(s.container_id));
      const stopped = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/v1/projects/todo:stop", body: '{"timeout_seconds": 5}' });
      assert.equal(stopped.status, 200, stopped.text);
      assert.deepEqual(stopped.json<{ services: { status: string }[] }>().services.map((s) => s.status), ["stopped", "stopped"]);
      for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} is gone`);
      assert.equal((await call({ base: http, path: "/v1/projects/todo" })).json().status, "stopped");

      const deleted = await call({ base: http, method: "DELETE", path: "/v1/projects/todo/runtime" });
      assert.equal(deleted.status, 200, deleted.text);
      const removed = deleted.json<{ resources_removed: string[] }>().resources_removed;
      assert.ok(removed.some((r) => r.startsWith(`port 127.0.0.1:${webPort.host_port}/tcp`)), removed.join("\n"));
      assert.ok(removed.some((r) => r.startsWith("log ") && r.endsWith("api.log")), removed.join("\n"));
      // State stays: the data is still there for the next open.
      assert.ok(existsSync(join(state, "current", "volumes", "data", "todo.db")));
      assert.equal((await call({ base: http, path: "/v1/projects/todo" })).json().status, "registered");
    });

    it("validates a compose file sent as base64", async () => {
      const compose = "services:\n  web:\n    image: nginx\n    privileged: true\n    ports: ['8080:80']\n";
      const reply = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/v1/compose:validate", body: JSON.stringify({ compose_content: Buffer.from(compose).toString("base64") }) });
      assert.equal(reply.status, 200, reply.text);
      const report = reply.json<{ valid: boolean; services: unknown[]; rejected_fields: unknown[]; supported_fields: { path: string }[]; warnings: string[] }>();
      assert.equal(report.valid, true);
      assert.deepEqual(report.services, [
        {
          name: "web",
          image: "nginx",
          depends_on: [],
          runnable: false,
          reasons: ["cannot run on the process runtime: image nginx needs a container runtime, and only the process runtime is here (no container runtime: ghostd runs with --runtime process); give the service a command (or entrypoint) to run as a process"],
        },
      ]);
      assert.deepEqual(report.rejected_fields, [{ path: "services.web.privileged", service: "web", reason: "privileged services are not run" }]);
      assert.deepEqual(report.supported_fields.map((f) => f.path), ["services", "services.web.image", "services.web.ports"]);
    });

    it("answers the seed's error codes in the API's error format", async () => {
      const missing = await call({ base: http, path: "/v1/projects/nope" });
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.json(), { error: "NOT_FOUND", message: "no project nope" });
      const pathNotFound = await call({ base: http, headers: JSON_TYPE, method: "PUT", path: "/v1/projects/x", body: JSON.stringify({ app_id: "a.b", package_path: "/nonexistent/pkg" }) });
      assert.equal(pathNotFound.status, 404);
      assert.equal(pathNotFound.json().error, "PATH_NOT_FOUND");
      const noField = await call({ base: http, headers: JSON_TYPE, method: "PUT", path: "/v1/projects/x", body: JSON.stringify({ package_path: "/tmp" }) });
      assert.equal(noField.status, 400);
      assert.deepEqual(noField.json(), { error: "missing_field", message: 'missing required field "app_id"' });
      const wrongType = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/v1/projects/x:stop", body: '{"timeout_seconds": "soon"}' });
      assert.equal(wrongType.status, 400);
      assert.equal(wrongType.json().error, "invalid_json");
      const notRunning = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/v1/projects/nope:stop", body: "{}" });
      assert.equal(notRunning.json().error, "NOT_FOUND");
      const invalid = await call({ base: http, headers: JSON_TYPE, method: "POST", path: "/v1/compose:validate", body: JSON.stringify({ compose_content: Buffer.from("services: {a: {image: [1]}}").toString("base64") }) });
      assert.equal(invalid.status, 200);
      assert.equal(invalid.json().valid, false);
      assert.deepEqual(invalid.json().warnings, ["error: services.a.image: must be a string"]);
    });
  });

  /** Follows an NDJSON log stream over HTTP until `until` holds for the lines so far; returns them. */
  function followHttp(path: string, until: (lines: string[]) => boolean, during: () => Promise<void>): Promise<string[]> {
    const url = new URL(http);
    return new Promise((resolve, reject) => {
      const lines: string[] = [];
      let started = false;
      const req = httpRequest({ host: url.hostname, port: url.port, path, agent: false }, (res) => {
        let buffer = "";
        res.on("data", (chunk: Buffer) => {
          buffer += chunk.toString();
          const parts = buffer.split("\n");
          buffer = parts.pop() ?? "";
          for (const part of parts) {
            const message = JSON.parse(part) as { result?: { entries: { line: string }[] }; error?: unknown };
            if (message.error) reject(new Error(JSON.stringify(message.error)));
            lines.push(...(message.result?.entries ?? []).map((e) => e.line));
          }
          if (!started) {
            started = true;
            during().catch(reject);
          }
          if (until(lines)) {
            req.destroy();
            resolve(lines);
          }
        });
      });
      req.on("error", (err) => {
        if (!req.destroyed) reject(err);
      });
      req.end();
    });
  }

  describe("lifecycle over gRPC", () => {
    it("runs a native project: ensure, open, start, serve on the resolved port, logs, stop, delete", async () => {
      const manifest = `kind: vibe.app/v1
id: dev.test.native
name: Native
version: 2.0.0
runtime: {mode: native}
state:
  autosave: true
  volumes: [{name: data, consistency: generic}]
services:
  - name: backend
    command: [node, server.js]
    ports: [{container: 3000}]
    mounts: [{source: "state:data", target: /data}]
  - name: frontend
    command: [node, server.js]
    ports: [{container: 80}, {container: 9000, hostExposure: none}]
    dependsOn: [backend]
`;
      const pkg = newPackage({ "vibe.yaml": manifest, "server.js": HTTP_SERVICE });
      const ensured = await ensure({ projectId: pkg.id, appId: "dev.test.native", packagePath: pkg.path, statePath: pkg.state });
      assert.equal(ensured.created, true);
      assert.equal((await ensure({ projectId: pkg.id, appId: "dev.test.native", packagePath: pkg.path, statePath: pkg.state })).created, false);
      assert.equal((await status(pkg.id)).status, ProjectStatus.PROJECT_STATUS_REGISTERED);

      const opened = await open(pkg.id);
      assert.deepEqual(opened.services.map((s) => [s.name, s.status]), [["backend", ServiceState.SERVICE_STATE_STOPPED], ["frontend", ServiceState.SERVICE_STATE_STOPPED]]);
      assert.equal((await status(pkg.id)).status, ProjectStatus.PROJECT_STATUS_OPEN);

      const started = await start(pkg.id);
      assert.deepEqual(started.services.map((s) => [s.name, s.status, s.restartCount]), [["backend", ServiceState.SERVICE_STATE_RUNNING, 0], ["frontend", ServiceState.SERVICE_STATE_RUNNING, 0]]);
      assert.deepEqual(started.ports.map((p) => [p.serviceName, p.containerPort]), [["backend", 3000], ["frontend", 80]], "no host port for hostExposure none");
      const frontend = started.ports.find((p) => p.serviceName === "frontend")?.hostPort ?? 0;
      const answer = await waitFor("the frontend to answer", () => get(frontend, "/hello").catch(() => undefined));
      assert.deepEqual(JSON.parse(answer.body), { service: "frontend", hits: 1, url: "/hello" });

      const detail = await status(pkg.id);
      assert.equal(detail.status, ProjectStatus.PROJECT_STATUS_RUNNING);
      assert.equal(detail.version, "2.0.0");
      assert.equal(detail.autosaveEnabled, true);
      assert.deepEqual(detail.ports, started.ports);
      assert.ok(detail.services.every((s) => s.startedAt instanceof Date && Number(s.containerId) > 0));
      assert.deepEqual((await ports(pkg.id)).ports, started.ports);

      const running = await list(ProjectStatus.PROJECT_STATUS_RUNNING);
      assert.ok(running.projects.some((p) => p.projectId === pkg.id && p.serviceCount === 2 && p.portCount === 2));

      // Logs over a gRPC stream: the tail, then what the service writes while followed.
      const logs = await followLogs(client, { projectId: pkg.id, serviceName: "frontend" }, (entries) => entries.some((e) => e.line === "GET /followed"), () => get(frontend, "/followed").then(() => undefined));
      assert.ok(logs.every((e) => e.serviceName === "frontend"));
      assert.ok(logs.some((e) => e.line === `listening on ${frontend}`), "the tail came first");

      const stopped = await stop(pkg.id);
      assert.deepEqual(stopped.services.map((s) => s.status), [ServiceState.SERVICE_STATE_STOPPED, ServiceState.SERVICE_STATE_STOPPED]);
      await assert.rejects(get(frontend), /ECONNREFUSED/);
      const removed = await remove(pkg.id);
      assert.ok(removed.resourcesRemoved.some((r) => r.includes(`127.0.0.1:${frontend}/tcp`)));
      assert.deepEqual((await status(pkg.id)).ports, []);
    });
  });

  describe("following logs over HTTP", () => {
    it("answers a follow at once, with an empty page, when the project has written no line yet", async () => {
      const pkg = newPackage({ "vibe.yaml": "kind: vibe.app/v1\nid: dev.test.quiet\nname: Quiet\nversion: 1.0.0\nruntime: {mode: native}\nservices:\n  - name: quiet\n    command: [sleep, \"30\"]\n" });
      await ensure({ projectId: pkg.id, appId: "dev.test.quiet", packagePath: pkg.path, statePath: pkg.state });
      const url = new URL(http);
      const started = Date.now();
      const first = await new Promise<{ status: number; line: string }>((resolve, reject) => {
        const req = httpRequest({ host: url.hostname, port: url.port, path: `/v1/projects/${pkg.id}/logs?follow=true`, agent: false }, (res) => {
          res.once("data", (chunk: Buffer) => {
            resolve({ status: res.statusCode ?? 0, line: chunk.toString().split("\n")[0] ?? "" });
            req.destroy();
          });
        });
        req.on("error", reject);
        req.setTimeout(5000, () => reject(new Error("no answer to the follow within 5 s")));
        req.end();
      });
      assert.deepEqual(first, { status: 200, line: '{"result":{"entries":[]}}' });
      assert.ok(Date.now() - started < 2000, `the follow answered after ${Date.now() - started} ms`);
    });
  });

  describe("errors over gRPC", () => {
    const SIMPLE = "services:\n  app:\n    command: [sleep, '1000']\n";

    it("EnsureProject: INVALID_MANIFEST with every problem, PATH_NOT_FOUND, CONFLICT", async () => {
      const bad = newPackage({ "vibe.yaml": "kind: vibe.app/v2\nid: x\nname: N\nversion: one\nruntime: {mode: native}\nservices: [{name: a, command: [sh], dependsOn: [ghost]}]\n" });
      const err = await failsWith(ensure({ projectId: bad.id, appId: "a.b", packagePath: bad.path }), Code.INVALID_ARGUMENT, "INVALID_MANIFEST");
      for (const problem of [/kind: must be vibe\.app\/v1/, /id: "x" must be reverse-domain/, /version: "one" must be a semantic version/, /no service "ghost"/]) assert.match(err.details, problem);
      assert.match(err.details, /the manifest has 4 problems/);

      const cycle = newPackage({ "vibe.yaml": composeManifest("dev.test.cycle"), "compose.yaml": "services:\n  a: {command: [x], depends_on: [b]}\n  b: {command: [x], depends_on: [a]}\n" });
      await failsWith(ensure({ projectId: cycle.id, appId: "dev.test.cycle", packagePath: cycle.path }), Code.INVALID_ARGUMENT, "INVALID_MANIFEST", /a cycle: a -> b -> a/);
      const hostPath = newPackage({ "vibe.yaml": composeManifest("dev.test.hostpath"), "compose.yaml": "services:\n  a: {command: [x], volumes: ['/etc:/etc2']}\n" });
      await failsWith(ensure({ projectId: hostPath.id, appId: "dev.test.hostpath", packagePath: hostPath.path }), Code.INVALID_ARGUMENT, "INVALID_MANIFEST", /"\/etc" is an absolute host path/);
      const noCompose = newPackage({ "vibe.yaml": composeManifest("dev.test.nocompose") });
      await failsWith(ensure({ projectId: noCompose.id, appId: "dev.test.nocompose", packagePath: noCompose.path }), Code.INVALID_ARGUMENT, "INVALID_MANIFEST", /compose mode needs a compose file/);
      const empty = newPackage({ "README": "no manifest here" });
      await failsWith(ensure({ projectId: empty.id, appId: "a.b", packagePath: empty.path }), Code.INVALID_ARGUMENT, "INVALID_MANIFEST", /has no vibe\.yaml/);
      await failsWith(ensure({ projectId: "nowhere", appId: "a.b", packagePath: join(work.path, "does-not-exist") }), Code.NOT_FOUND, "PATH_NOT_FOUND");
      await failsWith(ensure({ projectId: "../escape", appId: "a.b", packagePath: empty.path }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", /project_id/);

      const good = newPackage({ "vibe.yaml": composeManifest("dev.test.conflict"), "compose.yaml": SIMPLE });
      await ensure({ projectId: good.id, appId: "dev.test.conflict", packagePath: good.path, statePath: good.state });
      await failsWith(ensure({ projectId: good.id, appId: "dev.test.other", packagePath: good.path, statePath: good.state }), Code.ALREADY_EXISTS, "CONFLICT", /registered with app_id dev\.test\.conflict/);
      const elsewhere = writePackage(join(work.path, "elsewhere"), { "vibe.yaml": composeManifest("dev.test.conflict"), "compose.yaml": SIMPLE });
      await failsWith(ensure({ projectId: good.id, appId: "dev.test.conflict", packagePath: elsewhere, statePath: good.state }), Code.ALREADY_EXISTS, "CONFLICT", /package_path/);
      await failsWith(ensure({ projectId: good.id, appId: "dev.test.conflict", packagePath: good.path, statePath: join(work.path, "other-state") }), Code.ALREADY_EXISTS, "CONFLICT", /state_path/);
      // A refused request changed nothing.
      const after = await status(good.id);
      assert.equal(after.appId, "dev.test.conflict");
      assert.equal(after.status, ProjectStatus.PROJECT_STATUS_REGISTERED);
    });

    it("EnsureProject: CONFLICT for a registered project comes before the package and manifest checks", async () => {
      const first = newPackage({ "vibe.yaml": composeManifest("dev.test.first"), "compose.yaml": SIMPLE });
      await ensure({ projectId: first.id, appId: "dev.test.first", packagePath: first.path, statePath: first.state });
      const broken = newPackage({ "vibe.yaml": "kind: vibe.app/v2\n" });
      const gone = join(work.path, "no-such-package");
      for (const [request, differs] of [
        [{ appId: "dev.test.second", packagePath: first.path, statePath: first.state }, /app_id dev\.test\.first/],
        [{ appId: "dev.test.second", packagePath: gone, statePath: first.state }, /app_id dev\.test\.first, package_path/],
        [{ appId: "dev.test.first", packagePath: broken.path, statePath: first.state }, /package_path/],
        [{ appId: "dev.test.first", packagePath: first.path, statePath: join(work.path, "another-state") }, /state_path/],
      ] as const) {
        await failsWith(ensure({ projectId: first.id, ...request }), Code.ALREADY_EXISTS, "CONFLICT", differs);
      }
      // A malformed argument is still told first; a new project's app id must match its manifest.
      await failsWith(ensure({ projectId: first.id, appId: "dev.test.second", packagePath: "relative/pkg" }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", /package_path/);
      await failsWith(ensure({ projectId: `${first.id}-new`, appId: "dev.test.second", packagePath: first.path }), Code.INVALID_ARGUMENT, "INVALID_MANIFEST", /does not match the manifest's id/);

      // No state_path: the project keeps the one it has, rather than conflicting with the default.
      const again = await ensure({ projectId: first.id, appId: "dev.test.first", packagePath: first.path });
      assert.equal(again.created, false);
      assert.ok(existsSync(join(first.state, "current", "files")));
      // A state_path that cannot hold state is the path error the seed has, and registers nothing.
      const unusable = join(first.path, "compose.yaml", "state");
      await failsWith(ensure({ projectId: `${first.id}-unusable`, appId: "dev.test.first", packagePath: first.path, statePath: unusable }), Code.NOT_FOUND, "PATH_NOT_FOUND", /state_path .* cannot hold/);
      await failsWith(status(`${first.id}-unusable`), Code.NOT_FOUND, "NOT_FOUND");
      const fresh = newPackage({ "vibe.yaml": composeManifest("dev.test.fresh"), "compose.yaml": SIMPLE });
      await ensure({ projectId: fresh.id, appId: "dev.test.fresh", packagePath: fresh.path });
      assert.ok(existsSync(join(daemon.home, "projects", fresh.id, "current", "files")), "a new project without state_path gets the default");
      assert.equal((await ensure({ projectId: fresh.id, appId: "dev.test.fresh", packagePath: fresh.path, statePath: join(daemon.home, "projects", fresh.id) })).created, false);
    });

    it("every method: NOT_FOUND for an unknown project", async () => {
      const id = "no-such-project";
      for (const attempt of [open(id), start(id), stop(id), remove(id), status(id), ports(id)]) await failsWith(attempt, Code.NOT_FOUND, "NOT_FOUND", /no project no-such-project/);
      await assert.rejects(tailLogs(client, { projectId: id }), (err: ServiceError) => err.code === Code.NOT_FOUND);
    });

    it("OpenProject: ALREADY_OPEN; StartProject: NOT_OPEN, ALREADY_RUNNING, START_FAILED for a missing program or a missing container runtime", async () => {
      const missing = newPackage({ "vibe.yaml": composeManifest("dev.test.missing"), "compose.yaml": "services:\n  app:\n    image: postgres:16\n    command: [no-such-program-ghostd]\n" });
      await ensure({ projectId: missing.id, appId: "dev.test.missing", packagePath: missing.path, statePath: missing.state });
      const warned = await open(missing.id);
      assert.ok(warned.warnings.some((w) => /app: the executable "no-such-program-ghostd" does not exist/.test(w)), warned.warnings.join("\n"));
      const notStarted = await failsWith(start(missing.id), Code.INTERNAL, "START_FAILED", /app: the executable "no-such-program-ghostd" does not exist/);
      assert.deepEqual(errorMetadataOf(notStarted), { services: "app" });
      assert.equal((await status(missing.id)).status, ProjectStatus.PROJECT_STATUS_OPEN, "nothing started, nothing lost: still open");
      const imageOnly = newPackage({ "vibe.yaml": composeManifest("dev.test.imageonly"), "compose.yaml": "services:\n  db:\n    image: postgres:16\n" });
      await ensure({ projectId: imageOnly.id, appId: "dev.test.imageonly", packagePath: imageOnly.path, statePath: imageOnly.state });
      const told = await open(imageOnly.id);
      assert.ok(told.warnings.some((w) => /^db: image postgres:16 needs a container runtime.*--runtime process.*StartProject fails until then$/.test(w)), told.warnings.join("\n"));
      const noEngine = await failsWith(start(imageOnly.id), Code.INTERNAL, "START_FAILED", /^db: image postgres:16 needs a container runtime.*give the service a command/);
      assert.deepEqual(errorMetadataOf(noEngine), { services: "db" });

      const pkg = newPackage({ "vibe.yaml": composeManifest("dev.test.states"), "compose.yaml": "services:\n  app:\n    image: busybox\n    command: [sleep, '1000']\n" });
      await ensure({ projectId: pkg.id, appId: "dev.test.states", packagePath: pkg.path, statePath: pkg.state });
      await failsWith(start(pkg.id), Code.FAILED_PRECONDITION, "NOT_OPEN", /call OpenProject first/);
      const opened = await open(pkg.id);
      assert.ok(opened.warnings.some((w) => w.includes("image busybox is ignored by the process runtime")), opened.warnings.join("\n"));
      await failsWith(open(pkg.id), Code.FAILED_PRECONDITION, "ALREADY_OPEN");
      await start(pkg.id);
      await failsWith(start(pkg.id), Code.FAILED_PRECONDITION, "ALREADY_RUNNING");
      await stop(pkg.id, 5);
    });

    it("OpenProject: IMAGE_PULL_FAILED (cause INVALID_MANIFEST) when the package stopped loading after EnsureProject", async () => {
      const pkg = newPackage({ "vibe.yaml": composeManifest("dev.test.decayed"), "compose.yaml": SIMPLE });
      await ensure({ projectId: pkg.id, appId: "dev.test.decayed", packagePath: pkg.path, statePath: pkg.state });
      writeFileSync(join(pkg.path, "compose.yaml"), "services:\n  a: {command: [x], depends_on: [b]}\n  b: {command: [x], depends_on: [a]}\n");
      const err = await failsWith(open(pkg.id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /a cycle: a -> b -> a/);
      assert.deepEqual(errorMetadataOf(err), { cause: "INVALID_MANIFEST" });
      assert.equal((await status(pkg.id)).status, ProjectStatus.PROJECT_STATUS_REGISTERED);
      writeFileSync(join(pkg.path, "compose.yaml"), SIMPLE);
      assert.deepEqual((await open(pkg.id)).services.map((s) => s.name), ["app"], "once the package loads again, it opens");
    });

    it("services that cannot run here: ValidateCompose warns of each, OpenProject names every one it cannot prepare", async () => {
      const compose = `services:
  db:
    image: postgres:16
  api:
    build: ./api
  web:
    build: .
    image: myapp/web:latest
    command: [sleep, '1000']
    depends_on: [db, api]
`;
      const report = await validate(compose);
      assert.equal(report.valid, true, "a valid Compose file, though not runnable on this runtime");
      const about = (service: string) => report.warnings.filter((w) => w.startsWith(`services.${service}: cannot run`));
      assert.equal(about("db").length, 1, report.warnings.join("\n"));
      assert.match(about("db")[0] ?? "", /image postgres:16 needs a container runtime.*give the service a command/);
      assert.equal(about("api").length, 1, report.warnings.join("\n"));
      assert.match(about("api")[0] ?? "", /build: images are not built here.*give the service a command/);
      assert.deepEqual(about("web"), [], "web has a command the process runtime runs");
      const entry = (name: string) => report.services.find((s) => s.name === name);
      assert.deepEqual([entry("web")?.runnable, entry("web")?.reasons], [true, []]);
      assert.equal(entry("db")?.runnable, false);
      assert.deepEqual(entry("db")?.reasons.map((r) => r.replace(/:.*/s, "")), ["cannot run on the process runtime"]);
      assert.match(entry("db")?.reasons[0] ?? "", /image postgres:16 needs a container runtime/);
      assert.equal(entry("api")?.runnable, false);

      const pkg = newPackage({ "vibe.yaml": composeManifest("dev.test.unrunnable"), "compose.yaml": compose });
      await ensure({ projectId: pkg.id, appId: "dev.test.unrunnable", packagePath: pkg.path, statePath: pkg.state });
      // db could run with an engine (a start failure, issue 12); nothing here builds api's image.
      const err = await failsWith(open(pkg.id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /1 service cannot run/);
      assert.doesNotMatch(err.details, /db:/);
      assert.match(err.details, /api: build: images are not built here/);
      assert.deepEqual(errorMetadataOf(err), { services: "api" });
    });

    it("ValidateCompose says per service whether it runs here: arguments for an image's entrypoint are no missing program, a broken field is its own reason", async () => {
      const report = await validate(`services:
  db:
    image: mysql:8
    command: --default-authentication-plugin=mysql_native_password
  web:
    command: [sleep, '1000']
    ports: ["\${WEB_PORT:-8080}:80"]
  bad:
    command: [sleep, '1000']
    ports: ["8080:80-81"]
`);
      assert.equal(report.valid, false);
      const entry = (name: string) => report.services.find((s) => s.name === name);
      assert.deepEqual([entry("web")?.runnable, entry("web")?.reasons], [true, []], "an interpolated port mapping is read as one");
      assert.equal(entry("db")?.runnable, false);
      assert.match(entry("db")?.reasons.join() ?? "", /holds arguments for the entrypoint of image mysql:8, which needs a container runtime/);
      assert.doesNotMatch(report.warnings.join("\n"), /executable "--default/);
      assert.equal(entry("bad")?.runnable, false);
      assert.match(entry("bad")?.reasons.join() ?? "", /^services\.bad\.ports\[0\]: "8080:80-81" maps 1 host ports onto 2 container ports/);
    });

    it("StopProject: NOT_RUNNING; DeleteProjectRuntime: STILL_RUNNING unless forced", async () => {
      const pkg = newPackage({ "vibe.yaml": composeManifest("dev.test.delete"), "compose.yaml": SIMPLE });
      await ensure({ projectId: pkg.id, appId: "dev.test.delete", packagePath: pkg.path, statePath: pkg.state });
      await failsWith(stop(pkg.id), Code.FAILED_PRECONDITION, "NOT_RUNNING");
      await open(pkg.id);
      await failsWith(stop(pkg.id), Code.FAILED_PRECONDITION, "NOT_RUNNING");
      assert.deepEqual((await ports(pkg.id)).ports, [], "never started: no ports kept");
      await failsWith(ports(pkg.id, true), Code.FAILED_PRECONDITION, "NOT_RUNNING");
      const started = await start(pkg.id);
      const pid = Number(serviceOf(started, "app").containerId);
      assert.ok(alive(pid));
      await failsWith(remove(pkg.id), Code.FAILED_PRECONDITION, "STILL_RUNNING", /pass force/);
      assert.ok(alive(pid), "a refused delete leaves the project running");
      const removed = await remove(pkg.id, true);
      assert.ok(removed.resourcesRemoved.includes(`process ${pid} (app)`), removed.resourcesRemoved.join("\n"));
      await waitFor("the process to go", () => !alive(pid));
      assert.equal((await status(pkg.id)).status, ProjectStatus.PROJECT_STATUS_REGISTERED);
      await failsWith(stop(pkg.id, -1), Code.FAILED_PRECONDITION, "NOT_RUNNING");
    });

    it("ResolvePorts: a stopped project answers the ports it keeps; refresh needs it running", async () => {
      const { id, started } = await run("services:\n  idle:\n    command: [sleep, '1000']\n    ports: ['7000', '7001/udp']\n");
      assert.equal(started.ports.length, 2);
      await stop(id, 5);
      assert.deepEqual((await ports(id)).ports, started.ports);
      await failsWith(ports(id, true), Code.FAILED_PRECONDITION, "NOT_RUNNING", /not running/);
      assert.deepEqual((await start(id)).ports, started.ports, "the kept ports are the ones the next start uses");
      await stop(id, 5);
    });

    it("GetProjectLogs: NOT_FOUND for a service the project does not have; INVALID_ARGUMENT for a bad tail", async () => {
      const pkg = newPackage({ "vibe.yaml": composeManifest("dev.test.logs"), "compose.yaml": SIMPLE });
      await ensure({ projectId: pkg.id, appId: "dev.test.logs", packagePath: pkg.path, statePath: pkg.state });
      await open(pkg.id);
      await failsWith(tailLogs(client, { projectId: pkg.id, serviceName: "ghost" }), Code.NOT_FOUND, "NOT_FOUND", /has no service ghost/);
      await failsWith(tailLogs(client, { projectId: pkg.id, tailLines: -5 }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", /tail_lines/);
    });

    it("a fixed host port something else holds: START_FAILED (cause PORT_CONFLICT) at start, PORT_CONFLICT on refresh", async () => {
      const holder = await listen();
      const taken = portOf(holder);
      try {
        const pkg = newPackage({ "vibe.yaml": composeManifest("dev.test.fixed"), "compose.yaml": `services:\n  app:\n    command: [sleep, '1000']\n    ports: ['${taken}:80']\n` });
        await ensure({ projectId: pkg.id, appId: "dev.test.fixed", packagePath: pkg.path, statePath: pkg.state });
        await open(pkg.id);
        const refused = await failsWith(start(pkg.id), Code.INTERNAL, "START_FAILED", new RegExp(`app asks for host port ${taken}/tcp`));
        assert.deepEqual(errorMetadataOf(refused), { cause: "PORT_CONFLICT", service: "app", host_port: String(taken), protocol: "tcp" });
        assert.notEqual((await status(pkg.id)).status, ProjectStatus.PROJECT_STATUS_RUNNING);
        await closeServer(holder);
        const started = await start(pkg.id);
        assert.deepEqual(started.ports.map((p) => p.hostPort), [taken]);
        // The project's pod publishes the port while it runs, whether its service listens or not: nothing else takes it.
        await assert.rejects(listen(taken), /EADDRINUSE/);
        assert.deepEqual((await ports(pkg.id, true)).ports.map((p) => p.hostPort), [taken]);
        await stop(pkg.id, 5);
        (await listen(taken)).close();
      } finally {
        if (holder.listening) await closeServer(holder);
      }
    });

    it("ValidateCompose: an invalid report, never an error, for hostile input", async () => {
      const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(",")}]`).join("\n")}\nservices: {}\n`;
      for (const text of [bomb, "services: [", "x".repeat(3 * 1024 * 1024), "services:\n  a:\n    image: {nested: [1, 2]}\n"]) {
        const report = await validate(text);
        assert.equal(report.valid, false);
        assert.ok(report.warnings.some((w) => w.startsWith("error: ")), report.warnings.join("\n"));
      }
      const fine = await validate(readFileSync(join(packageRoot, "examples", "todo", "compose.yaml"), "utf8"));
      assert.equal(fine.valid, true, fine.warnings.join("\n"));
      assert.deepEqual(fine.services.map((s) => [s.name, s.dependsOn]), [["api", []], ["web", ["api"]]]);
    });
  });

  describe("processes", () => {
    it("restarts a crashing service per its policy, counting restarts", async () => {
      const { id, started } = await run("services:\n  flaky:\n    command: [sh, -c, 'echo attempt; exit 3']\n    restart: on-failure:2\n  steady:\n    command: [sleep, '1000']\n    restart: always\n");
      const failed = await waitFor("flaky to give up", async () => {
        const reply = await status(id);
        return serviceOf(reply, "flaky").status === ServiceState.SERVICE_STATE_FAILED ? reply : undefined;
      });
      assert.equal(serviceOf(failed, "flaky").restartCount, 2);
      assert.equal(failed.status, ProjectStatus.PROJECT_STATUS_DEGRADED);
      const attempts = await tailLogs(client, { projectId: id, serviceName: "flaky" });
      assert.equal(attempts.filter((e) => e.line === "attempt").length, 3, attempts.map((e) => e.line).join("\n"));

      // always: killed from outside, it comes back with a new process, and the count goes up.
      const first = Number(serviceOf(started, "steady").containerId);
      process.kill(-first, "SIGKILL");
      const back = await waitFor("steady to be restarted", async () => {
        const reply = serviceOf(await status(id), "steady");
        return reply.status === ServiceState.SERVICE_STATE_RUNNING && Number(reply.containerId) !== first ? reply : undefined;
      });
      assert.equal(back.restartCount, 1);
      assert.ok(alive(Number(back.containerId)));
      await stop(id, 5);
      assert.equal(serviceOf(await status(id), "steady").status, ServiceState.SERVICE_STATE_STOPPED, "a stopped service is not restarted");
    });

    it("stops with the stop signal, kills after the timeout, and leaves no orphans", async () => {
      const marker = 40_000 + Math.floor(Math.random() * 20_000);
      const { id } = await run(`services:
  stubborn:
    command: [sh, -c, "trap 'echo got TERM' TERM; sleep ${marker} & while true; do sleep 0.1; done"]
  polite:
    command: [sh, -c, "trap 'echo got INT; exit 0' INT; echo ready; while true; do sleep 0.1; done"]
    stop_signal: SIGINT
`);
      await waitFor("the orphan-to-be to start", () => processesWith(`sleep ${marker}`).length > 0);
      const began = Date.now();
      const stopped = await stop(id, 1);
      const took = Date.now() - began;
      assert.ok(took >= 1000 && took < 6000, `stop took ${took} ms`);
      assert.ok(stopped.services.every((s) => s.status === ServiceState.SERVICE_STATE_STOPPED));
      assert.deepEqual(processesWith(`sleep ${marker}`), [], "the background child went with its service");
      const lines = (await tailLogs(client, { projectId: id })).map((e) => `${e.serviceName}: ${e.line}`);
      assert.ok(lines.includes("stubborn: got TERM"), lines.join("\n"));
      assert.ok(lines.includes("polite: got INT"), lines.join("\n"));
    });

    it("runs services in a sandbox: host read-only, volumes at their targets, private /tmp and PIDs", async () => {
      writeFileSync(join(work.path, "host-marker"), "visible?");
      const script = `
echo "pid=$$"
touch /usr/ghostd-sandbox-test 2>/dev/null && echo "host writable" || echo "host read-only"
echo kept > /data/file && echo "volume writable at $GHOSTD_MOUNT_DATA"
test -e ${join(work.path, "host-marker")} && echo "host tmp visible" || echo "host tmp hidden"
echo private > /tmp/ghostd-private-${process.pid} && echo "tmp writable"
cat /srv/files/seed.txt
sleep 1000
`;
      const { id, state } = await run("services:\n  box:\n    command: [sh, box.sh]\n    volumes: [data:/data, ./files:/srv/files]\nvolumes:\n  data:\n", { "box.sh": script, "files/seed.txt": "seeded from the package\n" }, ["data"]);
      const lines = (await followLogs(client, { projectId: id, serviceName: "box" }, (entries) => entries.some((e) => e.line === "seeded from the package"))).map((e) => e.line);
      const pid = Number(lines.find((l) => l.startsWith("pid="))?.slice(4));
      assert.ok(pid > 0 && pid < 10, `pid ${pid} is in a PID namespace of its own`);
      for (const expected of ["host read-only", "volume writable at /data", "host tmp hidden", "tmp writable"]) assert.ok(lines.includes(expected), `${expected} in:\n${lines.join("\n")}`);
      assert.equal(readFileSync(join(state, "current", "volumes", "data", "file"), "utf8"), "kept\n");
      assert.equal(readFileSync(join(state, "current", "files", "files", "seed.txt"), "utf8"), "seeded from the package\n", "relative binds are copied under current/files");
      assert.equal(existsSync("/usr/ghostd-sandbox-test"), false);
      assert.equal(existsSync(`/tmp/ghostd-private-${process.pid}`), false, "the service's /tmp is its own");
      await stop(id, 5);
    });

    it("keeps secrets out of disk, registry and logs; MISSING_SECRET before anything starts", async () => {
      const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
      const pkg = newPackage({
        "vibe.yaml": composeManifest("dev.test.secrets", [], "secrets:\n  - {name: API_TOKEN, required: true}\n"),
        "compose.yaml": "services:\n  app:\n    command: [sh, -c, 'echo \"token is $$API_TOKEN\"; echo \"length $${#API_TOKEN}\"; echo \"url $$URL\"; sleep 1000']\n    environment:\n      API_TOKEN:\n      URL: https://user:${API_TOKEN}@example.com\n",
      });
      await ensure({ projectId: pkg.id, appId: "dev.test.secrets", packagePath: pkg.path, statePath: pkg.state });
      await open(pkg.id);
      await failsWith(start(pkg.id), Code.INVALID_ARGUMENT, "MISSING_SECRET", /API_TOKEN/);
      const untouched = await status(pkg.id);
      assert.equal(untouched.status, ProjectStatus.PROJECT_STATUS_OPEN);
      assert.ok(untouched.services.every((s) => s.containerId === ""));

      await start(pkg.id, { API_TOKEN: secret });
      const lines = (await followLogs(client, { projectId: pkg.id }, (entries) => entries.some((e) => e.line.startsWith("url ")))).map((e) => e.line);
      assert.ok(lines.includes(`length ${secret.length}`), "the service got the secret");
      assert.ok(lines.includes("token is ***"), lines.join("\n"));
      assert.ok(lines.includes("url https://user:***@example.com"), lines.join("\n"));
      await stop(pkg.id, 5);
      const leaks = [daemon.home, pkg.state, pkg.path].flatMap((dir) => filesUnder(dir)).filter((file) => readFileSync(file).includes(secret));
      assert.deepEqual(leaks, [], "no file holds the secret");
    });

    it("waits for service_completed_successfully, and fails the start when it does not complete", async () => {
      const compose = (code: number) => `services:
  migrate:
    command: [sh, -c, 'echo migrating; echo schema > $$GHOSTD_MOUNT_DATA/schema; exit ${code}']
    volumes: [data:/data]
  app:
    command: [sh, -c, 'cat $$GHOSTD_MOUNT_DATA/schema; sleep 1000']
    volumes: [data:/data]
    depends_on:
      migrate: {condition: service_completed_successfully}
volumes:
  data:
`;
      const { id, started } = await run(compose(0), {}, ["data"]);
      assert.deepEqual(started.services.map((s) => [s.name, s.status]), [["migrate", ServiceState.SERVICE_STATE_STOPPED], ["app", ServiceState.SERVICE_STATE_RUNNING]]);
      assert.equal((await status(id)).status, ProjectStatus.PROJECT_STATUS_RUNNING, "a completed one-shot does not degrade the project");
      await followLogs(client, { projectId: id, serviceName: "app" }, (entries) => entries.some((e) => e.line === "schema"));
      await stop(id, 5);

      const pkg = newPackage({ "vibe.yaml": composeManifest("dev.test.failedmigration", ["data"]), "compose.yaml": compose(4) });
      await ensure({ projectId: pkg.id, appId: "dev.test.failedmigration", packagePath: pkg.path, statePath: pkg.state });
      await open(pkg.id);
      await failsWith(start(pkg.id), Code.INTERNAL, "START_FAILED", /migrate exited with 4; app needs it to complete successfully; last lines of migrate: migrating/);
      const after = await status(pkg.id);
      assert.equal(after.status, ProjectStatus.PROJECT_STATUS_FAILED);
      assert.equal(serviceOf(after, "app").containerId, "", "app never started");
    });

    it("START_FAILED when a healthcheck never passes or a service dies at once; what started is stopped", async () => {
      const pkg = newPackage({
        "vibe.yaml": composeManifest("dev.test.unhealthy"),
        "compose.yaml": `services:
  db:
    command: [sh, -c, 'echo db booting; echo db is broken >&2; sleep 1000']
    healthcheck: {test: [CMD, "false"], interval: 100ms, retries: 2}
  web:
    command: [sleep, '1000']
    depends_on: {db: {condition: service_healthy}}
`,
      });
      await ensure({ projectId: pkg.id, appId: "dev.test.unhealthy", packagePath: pkg.path, statePath: pkg.state });
      await open(pkg.id);
      await failsWith(start(pkg.id), Code.INTERNAL, "START_FAILED", /db did not become healthy: unhealthy after 2 failed checks; last lines of db: .*db is broken/);
      const after = await status(pkg.id);
      assert.equal(after.status, ProjectStatus.PROJECT_STATUS_FAILED);
      assert.ok(after.services.every((s) => s.status === ServiceState.SERVICE_STATE_STOPPED), JSON.stringify(after.services));

      const crash = newPackage({ "vibe.yaml": composeManifest("dev.test.crash"), "compose.yaml": "services:\n  boom:\n    command: [sh, -c, 'echo cannot bind >&2; exit 7']\n" });
      await ensure({ projectId: crash.id, appId: "dev.test.crash", packagePath: crash.path, statePath: crash.state });
      await open(crash.id);
      await failsWith(start(crash.id), Code.INTERNAL, "START_FAILED", /boom exited with 7 right after it started; last lines of boom: cannot bind/);
    });

    it("ResolvePorts with refresh keeps the ports the project's pod publishes, which nothing else can take", async () => {
      const { id, started } = await run("services:\n  idle:\n    command: [sh, -c, 'echo port=$$PORT; sleep 1000']\n    ports: ['7000']\n");
      const before = started.ports[0]?.hostPort ?? 0;
      const pid = Number(serviceOf(started, "idle").containerId);
      await assert.rejects(listen(before), /EADDRINUSE/);
      assert.deepEqual((await ports(id, true)).ports.map((p) => p.hostPort), [before], "a published port stays");
      assert.equal(Number(serviceOf(await status(id), "idle").containerId), pid, "and its service runs on");
      await stop(id, 5);
    });
  });

  describe("daemon restarts", () => {
    /**
     * Runs `before` against a daemon on `home`, stops that daemon with `signal` (and checks what
     * `stopped` says of it), then runs `after` against the next daemon on the same home.
     */
    async function acrossRestart<T>(home: string, args: string[], signal: NodeJS.Signals, before: (client: SupervisorClient) => Promise<T>, after: (client: SupervisorClient, earlier: T) => Promise<void>): Promise<void> {
      const first = await spawnDaemon({ home, args: [...args, "--log-level", "warn"] });
      const firstClient = supervisorClient(first.endpoints.grpc ?? "");
      let second: DaemonProcess | undefined;
      try {
        const earlier = await before(firstClient);
        firstClient.close();
        const code = await first.stop(signal);
        if (signal === "SIGTERM") assert.equal(code, 0, "a clean exit");
        second = await spawnDaemon({ home, args: [...args, "--log-level", "warn"] });
        const secondClient = supervisorClient(second.endpoints.grpc ?? "");
        try {
          await after(secondClient, earlier);
        } finally {
          secondClient.close();
        }
      } finally {
        firstClient.close();
        await first.stop("SIGKILL");
        await second?.stop();
      }
    }

    /** ensure + open + start of a compose package through `api`. */
    async function startWith(api: SupervisorClient, projectId: string, files: Record<string, string>): Promise<StartProjectResponse> {
      const pkg = newPackage(files);
      await unary((cb) => api.ensureProject(EnsureProjectRequest.fromPartial({ projectId, appId: `dev.test.${projectId}`, packagePath: pkg.path, statePath: pkg.state }), cb));
      await unary((cb) => api.openProject(OpenProjectRequest.fromPartial({ projectId }), cb));
      return unary<StartProjectResponse>((cb) => api.startProject(StartProjectRequest.fromPartial({ projectId }), cb));
    }

    const statusVia = (api: SupervisorClient, projectId: string) => unary<GetProjectStatusResponse>((cb) => api.getProjectStatus(GetProjectStatusRequest.fromPartial({ projectId }), cb));

    it("stops services when the daemon stops, and starts them again with the next one", async () => {
      await acrossRestart(
        join(work.path, "home-term"),
        ["--port-range", "46350-46399"],
        "SIGTERM",
        async (api) => Number(serviceOf(await startWith(api, "term", { "vibe.yaml": composeManifest("dev.test.term"), "compose.yaml": "services:\n  app:\n    command: [sleep, '1000']\n" }), "app").containerId),
        async (api, pid) => {
          assert.equal(alive(pid), false, "the daemon stopped its service on the way out");
          await waitFor("the project to run again", async () => (await statusVia(api, "term")).status === ProjectStatus.PROJECT_STATUS_RUNNING);
        },
      );
    });

    for (const sandbox of ["auto", "off"]) {
      it(`brings running projects back after kill -9 of the daemon (sandbox ${sandbox})`, async () => {
        const files = {
          "vibe.yaml": composeManifest("dev.test.survivor", ["data"]),
          "compose.yaml": "services:\n  web:\n    command: [node, server.js]\n    ports: ['80']\n    volumes: [data:/data]\nvolumes:\n  data:\n",
          "server.js": HTTP_SERVICE,
        };
        await acrossRestart(
          join(work.path, `home-${sandbox}`),
          ["--port-range", sandbox === "auto" ? "46200-46249" : "46250-46299", "--sandbox", sandbox],
          "SIGKILL",
          async (api) => {
            const pkg = newPackage(files);
            await unary((cb) => api.ensureProject(EnsureProjectRequest.fromPartial({ projectId: "survivor", appId: "dev.test.survivor", packagePath: pkg.path, statePath: pkg.state }), cb));
            const prepared = await unary<OpenProjectResponse>((cb) => api.openProject(OpenProjectRequest.fromPartial({ projectId: "survivor" }), cb));
            assert.equal(prepared.warnings.some((w) => w.includes("the sandbox is off (--sandbox off)")), sandbox === "off");
            const started = await unary<StartProjectResponse>((cb) => api.startProject(StartProjectRequest.fromPartial({ projectId: "survivor" }), cb));
            const port = started.ports[0]?.hostPort ?? 0;
            await waitFor("the service to answer", () => get(port).catch(() => undefined));
            return { port, pid: Number(serviceOf(started, "web").containerId) };
          },
          async (api, { port, pid }) => {
            const back = await waitFor("the project to run again", async () => {
              const reply = await statusVia(api, "survivor");
              return reply.status === ProjectStatus.PROJECT_STATUS_RUNNING && Number(serviceOf(reply, "web").containerId) !== pid ? reply : undefined;
            });
            assert.deepEqual(back.ports.map((p) => p.hostPort), [port], "the same host port");
            assert.equal(alive(pid), false, "what the killed daemon ran is gone");
            const answer = await waitFor("the service to answer again", () => get(port).catch(() => undefined));
            assert.equal((JSON.parse(answer.body) as { service: string }).service, "web");
            const listed = await unary<ListProjectsResponse>((cb) => api.listProjects(ListProjectsRequest.fromPartial({}), cb));
            assert.deepEqual(listed.projects.map((p) => [p.projectId, p.status, p.portCount]), [["survivor", ProjectStatus.PROJECT_STATUS_RUNNING, 1]]);
            await unary((cb) => api.stopProject(StopProjectRequest.fromPartial({ projectId: "survivor", timeoutSeconds: 5 }), cb));
          },
        );
      });
    }
  });
});

/** Pids of processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}
