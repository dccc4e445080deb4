import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../cli/package-info";
import type Docker from "dockerode";
import {
  DeleteProjectRuntimeRequest,
  EnsureProjectRequest,
  GetProjectStatusRequest,
  OpenProjectRequest,
  ServiceState,
  StartProjectRequest,
  StopProjectRequest,
  type DeleteProjectRuntimeResponse,
  type EnsureProjectResponse,
  type GetProjectStatusResponse,
  type OpenProjectResponse,
  type StartProjectResponse,
  type StopProjectResponse,
  type SupervisorClient,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import { runGhostd, spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { containersOf, removeLabelled, requireEngine } from "../helpers/engine";
import { ensureBusyboxImage, ensurePythonImage, PYTHON_IMAGE } from "../helpers/images";
import { composeManifest, failsWith, supervisorClient, tailLogs, unary, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

/** The example app of image services: an API with SQLite in a state volume, a worker, a web front end. */
const COUNTER = join(packageRoot, "examples", "counter");

async function get(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return res.text();
}

describe("container runtime (a real engine)", function () {
  this.timeout(180_000);
  let docker: Docker;
  let daemon: DaemonProcess | undefined;
  let client: SupervisorClient;
  let work: ReturnType<typeof tempDir>;
  const projects: string[] = [];

  before(async function () {
    docker = await requireEngine(this);
    await ensurePythonImage(docker);
    await ensureBusyboxImage(docker);
    work = tempDir();
    daemon = await spawnDaemon({ args: ["--runtime", "container", "--port-range", "46400-46499", "--log-level", "warn"] });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
  });

  after(async () => {
    // Skipped (no engine): nothing was set up.
    if (!daemon) return;
    client.close();
    await daemon.stop();
    daemon.cleanup();
    for (const id of projects) await removeLabelled(docker, `ghostd.project=${id}`);
    work.remove();
  });

  const ensure = (request: Partial<EnsureProjectRequest>) => unary<EnsureProjectResponse>((cb) => client.ensureProject(EnsureProjectRequest.fromPartial(request), cb));
  const open = (projectId: string) => unary<OpenProjectResponse>((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId }), cb));
  const start = (projectId: string) => unary<StartProjectResponse>((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId }), cb));
  const stop = (projectId: string) => unary<StopProjectResponse>((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId, timeoutSeconds: 5 }), cb));
  const remove = (projectId: string) => unary<DeleteProjectRuntimeResponse>((cb) => client.deleteProjectRuntime(DeleteProjectRuntimeRequest.fromPartial({ projectId }), cb));
  const status = (projectId: string) => unary<GetProjectStatusResponse>((cb) => client.getProjectStatus(GetProjectStatusRequest.fromPartial({ projectId }), cb));

  /** Registers a compose package under a project id whose containers `after` cleans up by label. */
  async function project(name: string, compose: string, files: Record<string, string>, extra = ""): Promise<string> {
    const projectId = `ctest-${process.pid}-${name}`;
    projects.push(projectId);
    const path = writePackage(join(work.path, name), { "vibe.yaml": composeManifest(`dev.test.${name}`, [], extra), "compose.yaml": compose, ...files });
    await ensure({ projectId, appId: `dev.test.${name}`, packagePath: path, statePath: join(work.path, `${name}-state`) });
    return projectId;
  }

  it("runs the counter example, three image services: open, start, requests, logs, stop, start with its data kept, delete", async () => {
    const id = `ctest-${process.pid}-counter`;
    projects.push(id);
    const path = join(work.path, "counter");
    cpSync(COUNTER, path, { recursive: true });
    // The example names a registry's Python image; none is reachable here, so the local one stands in.
    writeFileSync(join(path, ".env"), `PYTHON_IMAGE=${PYTHON_IMAGE}\n`);
    await ensure({ projectId: id, appId: "dev.ghostd.counter", packagePath: path, statePath: join(work.path, "counter-state") });
    const opened = await open(id);
    assert.deepEqual(opened.imagesPulled, [], "the image is there already: nothing is pulled");
    const started = await start(id);
    const hostPort = (service: string, port: number): number => started.ports.find((p) => p.serviceName === service && p.containerPort === port)?.hostPort ?? 0;
    assert.match(await get(hostPort("api", 8000), "/count"), /^\/count 1$/);
    // web has no healthcheck: started is all StartProject tells of it, not listening yet.
    const page = await waitFor("web to answer", () => get(hostPort("web", 8080), "/"), 20_000);
    assert.match(page, /^web: \/count 2$/, "web reaches the API by its alias");

    const containers = await containersOf(docker, id);
    assert.deepEqual([...containers.keys()].sort(), ["api", "web", "worker"]);
    const api = containers.get("api");
    assert.equal(api?.Labels["dev.ghostd.role"], "api", "the service's own labels are kept");
    const statuses = (await status(id)).services;
    for (const service of statuses) {
      assert.equal(service.status, ServiceState.SERVICE_STATE_RUNNING, service.name);
      assert.equal(service.containerId, containers.get(service.name)?.Id, `${service.name}: container_id is the engine's id`);
    }

    await waitFor("the worker to reach the API by name", async () => (await tailLogs(client, { projectId: id, serviceName: "worker" })).some((e) => e.line.includes("worker saw /health")), 20_000);
    const apiLogs = await tailLogs(client, { projectId: id, serviceName: "api" });
    assert.ok(apiLogs.some((e) => e.line.includes("api listening on 8000")), "the container's stdout is in the log book");

    await stop(id);
    assert.equal((await containersOf(docker, id)).size, 0, "stopped services leave no containers");
    const again = await start(id);
    const port = again.ports.find((p) => p.serviceName === "api")?.hostPort ?? 0;
    assert.match(await get(port, "/count"), /^\/count 3$/, "the SQLite database in the state volume survived the stop");

    await stop(id);
    const removed = await remove(id);
    assert.ok(removed.resourcesRemoved.some((r) => r.startsWith("network ")), removed.resourcesRemoved.join(", "));
    assert.deepEqual(await docker.listNetworks({ filters: { label: [`ghostd.project=${id}`] } }), []);
  });

  it("publishes ports on 127.0.0.1 through the engine when the project may reach out", async () => {
    const compose = `services:\n  www:\n    image: localhost/busybox:latest\n    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]\n    volumes: ["./www:/www:ro"]\n    ports: ["8080"]\n    stop_signal: SIGKILL\n`;
    const id = await project("egress", compose, { "www/index.html": "hello from busybox" }, "security:\n  network: true\n");
    await open(id);
    const started = await start(id);
    const port = started.ports[0]?.hostPort ?? 0;
    assert.equal(await get(port, "/index.html"), "hello from busybox");
    const [container] = (await containersOf(docker, id)).values();
    assert.deepEqual(container?.Ports.map((p) => [p.IP, p.PublicPort]), [["127.0.0.1", port]]);
    await stop(id);
    await remove(id);
  });

  it("keeps a project without egress from reaching beyond the machine; with security.network it can", async () => {
    // The probe only connects, and may reset the connection as it goes.
    const server = createServer((socket) => socket.on("error", () => undefined).end());
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
    const address = Object.values(networkInterfaces()).flat().find((i) => i?.family === "IPv4" && !i.internal)?.address;
    assert.ok(address, "a non-loopback address of this machine");
    const port = (server.address() as AddressInfo).port;
    const connect = `import socket, time\ntry:\n    socket.create_connection(("${address}", ${port}), 3)\n    print("REACHED", flush=True)\nexcept OSError:\n    print("BLOCKED", flush=True)\ntime.sleep(600)\n`;
    const probe = `services:\n  probe:\n    image: ${PYTHON_IMAGE}\n    command: ["python3", "-c", ${JSON.stringify(connect)}]\n    stop_signal: SIGKILL\n`;
    try {
      for (const [name, extra, expected] of [["sealed", "", "BLOCKED"], ["open", "security:\n  network: true\n", "REACHED"]] as const) {
        const id = await project(name, probe, {}, extra);
        await open(id);
        await start(id);
        const line = await waitFor(`${name}: the probe's verdict`, async () => (await tailLogs(client, { projectId: id })).map((e) => e.line).find((l) => /^(REACHED|BLOCKED)$/.test(l)), 20_000);
        assert.equal(line, expected, name);
        await stop(id);
        await remove(id);
      }
    } finally {
      server.close();
    }
  });

  it("after a kill -9 of the daemon, the next one runs the project again: one container per service, no leftovers", async () => {
    const compose = `services:\n  www:\n    image: localhost/busybox:latest\n    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]\n    volumes: ["./www:/www:ro"]\n    ports: ["8080"]\n    stop_signal: SIGKILL\n`;
    const id = await project("survivor", compose, { "www/index.html": "still here" });
    await open(id);
    const port = (await start(id)).ports[0]?.hostPort ?? 0;
    const before = [...(await containersOf(docker, id)).values()].map((c) => c.Id);
    assert.equal(before.length, 1);
    const home = daemon?.home ?? "";
    await daemon?.stop("SIGKILL");
    daemon = await spawnDaemon({ home, args: ["--runtime", "container", "--port-range", "46400-46499", "--log-level", "warn"] });
    client.close();
    client = supervisorClient(daemon.endpoints.grpc ?? "");
    // Until the new daemon has brought the project back, its status is what the killed one stored: running, the old container.
    const runningAgain = (s: { status: ServiceState; containerId: string }): boolean => s.status === ServiceState.SERVICE_STATE_RUNNING && !before.includes(s.containerId);
    await waitFor("the project to run again", async () => (await status(id)).services.every(runningAgain), 30_000);
    const after = [...(await containersOf(docker, id)).values()];
    assert.equal(after.length, 1, "no duplicate beside what the killed daemon left");
    assert.equal((await status(id)).services[0]?.containerId, after[0]?.Id);
    assert.equal(await waitFor("www to answer", () => get(port, "/index.html"), 10_000), "still here");
    await stop(id);
    await remove(id);
  });

  it("builds a service's image from its Dockerfile on a local base image, tagged per project, and deletes it with the project", async () => {
    const compose = `services:\n  built:\n    build:\n      context: ./app\n      args: {GREETING: hello-from-build}\n    stop_signal: SIGKILL\n`;
    const dockerfile = "FROM localhost/busybox:latest\nARG GREETING\nCOPY message.txt /message.txt\nRUN echo \"$GREETING\" > /greeting.txt\nCMD [\"sh\", \"-c\", \"cat /greeting.txt /message.txt; exec sleep 600\"]\n";
    const id = await project("builder", compose, { "app/Dockerfile": dockerfile, "app/message.txt": "copied from the context\n" });
    await open(id);
    const images = await docker.listImages({ filters: { label: [`ghostd.project=${id}`] } });
    assert.equal(images.length, 1, "one image, labelled with its project");
    assert.match(images[0]?.RepoTags?.[0] ?? "", /^localhost\/ghostd-ctest-.*-built:ghostd$/);
    await start(id);
    const lines = await waitFor("the built image's output", async () => {
      const got = (await tailLogs(client, { projectId: id, serviceName: "built" })).map((e) => e.line);
      return got.includes("copied from the context") && got;
    });
    assert.ok(lines.includes("hello-from-build"), lines.join("\n"));
    await stop(id);
    const removed = await remove(id);
    assert.ok(removed.resourcesRemoved.some((r) => r.startsWith("image localhost/ghostd-ctest-")), removed.resourcesRemoved.join(", "));
    assert.deepEqual(await docker.listImages({ filters: { label: [`ghostd.project=${id}`] } }), []);

    const broken = await project("brokenbuild", "services:\n  bad:\n    build: .\n", { Dockerfile: "FROM localhost/busybox:latest\nRUN echo about to fail && exit 3\n" });
    await failsWith(open(broken), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /bad: the build failed: .*about to fail/);
  });

  it("fails OpenProject with IMAGE_PULL_FAILED and the engine's reason for an image no registry gives", async () => {
    const id = await project("unpullable", "services:\n  cache:\n    image: docker.io/library/redis:7\n", {});
    await failsWith(open(id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /cache: image docker\.io\/library\/redis:7: .+/);
    const notes = (await tailLogs(client, { projectId: id })).map((e) => e.line);
    assert.ok(notes.some((l) => l.startsWith("[ghostd] pulling docker.io/library/redis:7")), notes.join("\n"));
  });

  it("fails StartProject with START_FAILED and the engine's reason for a program the image lacks", async () => {
    const id = await project("noprogram", "services:\n  tool:\n    image: localhost/busybox:latest\n    command: [no-such-program-ghostd]\n", {});
    await open(id);
    const err = await failsWith(start(id), Code.INTERNAL, "START_FAILED", /tool: the container engine refused it: .*no-such-program-ghostd/);
    assert.doesNotMatch(err.details, /HTTP code/);
    assert.equal((await containersOf(docker, id)).size, 0, "the container that could not start is not left behind");
    await remove(id);
  });
});

describe("--runtime container without an engine", function () {
  this.timeout(30_000);

  it("refuses to start, saying where it looked and what to do", async () => {
    const home = tempDir();
    try {
      const { code, output } = await runGhostd(["serve", "--home", home.path, "--http", "127.0.0.1:0", "--runtime", "container"], { DOCKER_HOST: `unix://${home.path}/no-engine.sock` });
      assert.equal(code, 1, output);
      assert.match(output, /--runtime container: no container engine answers \(unix:\/\/.*no-engine\.sock: no such socket\); start Docker or Podman's API service, or set DOCKER_HOST/);
    } finally {
      home.remove();
    }
  });
});
