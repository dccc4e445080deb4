import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../cli/package-info";
import { ProjectStatus, ServiceState } from "../../generated/ghostd/supervisor/v1/supervisor";
import { containerDaemon } from "../helpers/container-daemon";
import { runGhostd, spawnDaemon } from "../helpers/daemon";
import { containersOf } from "../helpers/engine";
import { ensureBusyboxImage, ensurePythonImage, PYTHON_IMAGE } from "../helpers/images";
import { composeManifest, failsWith, supervisorClient, tailLogs, writePackage } from "../helpers/supervisor";
import { supervisorCalls } from "../helpers/supervisor-calls";
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
  const env = containerDaemon({ portRange: "46400-46499", images: [ensurePythonImage, ensureBusyboxImage] });
  const { ensure, open, start, stop, remove, status } = env.calls;

  /** Registers a compose package under a project id whose containers `after` cleans up by label. */
  async function project(name: string, compose: string, files: Record<string, string>, extra = ""): Promise<string> {
    const projectId = env.track(`ctest-${process.pid}-${name}`);
    const path = writePackage(join(env.work.path, name), { "vibe.yaml": composeManifest(`dev.test.${name}`, [], extra), "compose.yaml": compose, ...files });
    await ensure({ projectId, appId: `dev.test.${name}`, packagePath: path, statePath: join(env.work.path, `${name}-state`) });
    return projectId;
  }

  it("runs the counter example, three image services: open, start, requests, logs, stop, start with its data kept, delete", async () => {
    const id = env.track(`ctest-${process.pid}-counter`);
    const path = join(env.work.path, "counter");
    cpSync(COUNTER, path, { recursive: true });
    // The example names a registry's Python image; none is reachable here, so the local one stands in.
    writeFileSync(join(path, ".env"), `PYTHON_IMAGE=${PYTHON_IMAGE}\n`);
    await ensure({ projectId: id, appId: "dev.ghostd.counter", packagePath: path, statePath: join(env.work.path, "counter-state") });
    const opened = await open(id);
    assert.deepEqual(opened.imagesPulled, [], "the image is there already: nothing is pulled");
    const started = await start(id);
    const hostPort = (service: string, port: number): number => started.ports.find((p) => p.serviceName === service && p.containerPort === port)?.hostPort ?? 0;
    assert.match(await get(hostPort("api", 8000), "/count"), /^\/count 1$/);
    // web has no healthcheck: started is all StartProject tells of it, not listening yet.
    const page = await waitFor("web to answer", () => get(hostPort("web", 8080), "/"), 20_000);
    assert.match(page, /^web: \/count 2$/, "web reaches the API by its alias");

    const containers = await containersOf(env.docker, id);
    assert.deepEqual([...containers.keys()].sort(), ["api", "web", "worker"]);
    const api = containers.get("api");
    assert.equal(api?.Labels["dev.ghostd.role"], "api", "the service's own labels are kept");
    const statuses = (await status(id)).services;
    for (const service of statuses) {
      assert.equal(service.status, ServiceState.SERVICE_STATE_RUNNING, service.name);
      assert.equal(service.containerId, containers.get(service.name)?.Id, `${service.name}: container_id is the engine's id`);
    }

    await waitFor("the worker to reach the API by name", async () => (await tailLogs(env.client, { projectId: id, serviceName: "worker" })).some((e) => e.line.includes("worker saw /health")), 20_000);
    const apiLogs = await tailLogs(env.client, { projectId: id, serviceName: "api" });
    assert.ok(apiLogs.some((e) => e.line.includes("api listening on 8000")), "the container's stdout is in the log book");

    await stop(id);
    assert.equal((await containersOf(env.docker, id)).size, 0, "stopped services leave no containers");
    const again = await start(id);
    const port = again.ports.find((p) => p.serviceName === "api")?.hostPort ?? 0;
    assert.match(await get(port, "/count"), /^\/count 3$/, "the SQLite database in the state volume survived the stop");

    await stop(id);
    const removed = await remove(id);
    assert.ok(removed.resourcesRemoved.some((r) => r.startsWith("network ")), removed.resourcesRemoved.join(", "));
    assert.deepEqual(await env.docker.listNetworks({ filters: { label: [`ghostd.project=${id}`] } }), []);
  });

  it("publishes ports on 127.0.0.1 through the engine when the project may reach out", async () => {
    const compose = `services:\n  www:\n    image: localhost/busybox:latest\n    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]\n    volumes: ["./www:/www:ro"]\n    ports: ["8080"]\n    stop_signal: SIGKILL\n`;
    const id = await project("egress", compose, { "www/index.html": "hello from busybox" }, "security:\n  network: true\n");
    await open(id);
    const started = await start(id);
    const port = started.ports[0]?.hostPort ?? 0;
    assert.equal(await get(port, "/index.html"), "hello from busybox");
    const [container] = (await containersOf(env.docker, id)).values();
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
        const line = await waitFor(`${name}: the probe's verdict`, async () => (await tailLogs(env.client, { projectId: id })).map((e) => e.line).find((l) => /^(REACHED|BLOCKED)$/.test(l)), 20_000);
        assert.equal(line, expected, name);
        await stop(id);
        await remove(id);
      }
    } finally {
      server.close();
    }
  });

  it("after a kill -9 of the daemon, the next one takes over the same containers: no duplicates, no one-shot run twice, logs go on", async () => {
    const compose = [
      "services:",
      "  setup:",
      "    image: localhost/busybox:latest",
      '    command: ["sh", "-c", "echo ran >> /data/setup-runs"]',
      "    volumes: [\"data:/data\"]",
      "  www:",
      "    image: localhost/busybox:latest",
      '    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]',
      '    volumes: ["./www:/www:ro"]',
      '    ports: ["8080"]',
      "    stop_signal: SIGKILL",
      "    depends_on: {setup: {condition: service_completed_successfully}}",
      "  ticker:",
      "    image: localhost/busybox:latest",
      '    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo tick $$i; sleep 0.1; done"]',
      "    stop_signal: SIGKILL",
      "volumes: {data: {}}",
      "",
    ].join("\n");
    const id = await project("survivor", compose, { "www/index.html": "still here" });
    await open(id);
    const port = (await start(id)).ports[0]?.hostPort ?? 0;
    const ticks = async (): Promise<number[]> => (await tailLogs(env.client, { projectId: id, serviceName: "ticker", tailLines: 100_000 })).flatMap((e) => (/^tick (\d+)$/.exec(e.line) ? [Number(e.line.slice(5))] : []));
    await waitFor("a few ticks", async () => (await ticks()).length >= 3);
    const before = new Map([...(await containersOf(env.docker, id))].map(([service, c]) => [service, c.Id]));
    assert.deepEqual([...before.keys()].sort(), ["ticker", "www"]);
    const lastBefore = Math.max(...(await ticks()));
    await env.restart("SIGKILL");
    // Until the new daemon has brought the project back, its status is what the killed one stored; its log tells the takeover.
    const takenOver = async (service: string): Promise<boolean> => (await tailLogs(env.client, { projectId: id, serviceName: service, tailLines: 1000 })).some((e) => e.line.startsWith("[ghostd] taken over from an earlier daemon"));
    await waitFor("the project to be taken over", async () => (await takenOver("www")) && (await takenOver("ticker")), 30_000);
    await waitFor("the project to be running", async () => (await status(id)).status === ProjectStatus.PROJECT_STATUS_RUNNING, 30_000);
    const after = new Map([...(await containersOf(env.docker, id))].map(([service, c]) => [service, c.Id]));
    assert.deepEqual(after, before, "the same containers, none beside them");
    const services = new Map((await status(id)).services.map((s) => [s.name, s]));
    assert.equal(services.get("www")?.containerId, before.get("www"));
    assert.equal(services.get("ticker")?.containerId, before.get("ticker"));
    assert.equal(await waitFor("www to answer", () => get(port, "/index.html"), 10_000), "still here");
    const seen = await waitFor("ticks after the takeover", async () => {
      const all = await ticks();
      return Math.max(...all) > lastBefore + 5 && all;
    });
    assert.deepEqual(seen, [...new Set(seen)].sort((a, b) => a - b), "each tick once, in order: nothing the log book had is written again");
    const runs = readFileSync(join(env.work.path, "survivor-state", "current", "volumes", "data", "setup-runs"), "utf8");
    assert.equal(runs, "ran\n", "the one-shot is not run again under what depends on it");
    await stop(id);
    await remove(id);
  });

  it("builds a service's image from its Dockerfile on a local base image, tagged per project, and deletes it with the project", async () => {
    const compose = `services:\n  built:\n    build:\n      context: ./app\n      args: {GREETING: hello-from-build}\n    stop_signal: SIGKILL\n`;
    const dockerfile = "FROM localhost/busybox:latest\nARG GREETING\nCOPY message.txt /message.txt\nRUN echo \"$GREETING\" > /greeting.txt\nCMD [\"sh\", \"-c\", \"cat /greeting.txt /message.txt; exec sleep 600\"]\n";
    const id = await project("builder", compose, { "app/Dockerfile": dockerfile, "app/message.txt": "copied from the context\n" });
    await open(id);
    const images = await env.docker.listImages({ filters: { label: [`ghostd.project=${id}`] } });
    assert.equal(images.length, 1, "one image, labelled with its project");
    assert.match(images[0]?.RepoTags?.[0] ?? "", /^localhost\/ghostd-ctest-.*-built:ghostd$/);
    await start(id);
    const lines = await waitFor("the built image's output", async () => {
      const got = (await tailLogs(env.client, { projectId: id, serviceName: "built" })).map((e) => e.line);
      return got.includes("copied from the context") && got;
    });
    assert.ok(lines.includes("hello-from-build"), lines.join("\n"));
    await stop(id);
    const removed = await remove(id);
    assert.ok(removed.resourcesRemoved.some((r) => r.startsWith("image localhost/ghostd-ctest-")), removed.resourcesRemoved.join(", "));
    assert.deepEqual(await env.docker.listImages({ filters: { label: [`ghostd.project=${id}`] } }), []);

    const broken = await project("brokenbuild", "services:\n  bad:\n    build: .\n", { Dockerfile: "FROM localhost/busybox:latest\nRUN echo about to fail && exit 3\n" });
    await failsWith(open(broken), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /bad: the build failed: .*about to fail/);
  });

  it("fails OpenProject with IMAGE_PULL_FAILED and the engine's reason for an image no registry gives", async () => {
    const id = await project("unpullable", "services:\n  cache:\n    image: docker.io/library/redis:7\n", {});
    await failsWith(open(id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /cache: image docker\.io\/library\/redis:7: .+/);
    const notes = (await tailLogs(env.client, { projectId: id })).map((e) => e.line);
    assert.ok(notes.some((l) => l.startsWith("[ghostd] pulling docker.io/library/redis:7")), notes.join("\n"));
  });

  it("fails StartProject with START_FAILED and the engine's reason for a program the image lacks", async () => {
    const id = await project("noprogram", "services:\n  tool:\n    image: localhost/busybox:latest\n    command: [no-such-program-ghostd]\n", {});
    await open(id);
    const err = await failsWith(start(id), Code.INTERNAL, "START_FAILED", /tool: the container engine refused it: .*no-such-program-ghostd/);
    assert.doesNotMatch(err.details, /HTTP code/);
    assert.equal((await containersOf(env.docker, id)).size, 0, "the container that could not start is not left behind");
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

  it("with --runtime auto, an image service is warned of at open and fails StartProject, naming it and what to do; native services would run", async () => {
    const work = tempDir();
    const daemon = await spawnDaemon({ args: ["--runtime", "auto", "--port-range", "46400-46499", "--log-level", "warn"], env: { DOCKER_HOST: `unix://${work.path}/no-engine.sock` } });
    const client = supervisorClient(daemon.endpoints.grpc ?? "");
    const calls = supervisorCalls(client);
    try {
      const compose = "services:\n  web:\n    image: localhost/busybox:latest\n    command: [sleep, '600']\n  native:\n    command: [sleep, '600']\n";
      const path = writePackage(join(work.path, "pkg"), { "compose.yaml": compose, "vibe.yaml": composeManifest("dev.test.noengine") });
      await calls.ensure({ projectId: "noengine", appId: "dev.test.noengine", packagePath: path, statePath: join(work.path, "state") });
      const opened = await calls.open("noengine");
      assert.ok(opened.warnings.some((w) => /^web: image localhost\/busybox:latest needs a container engine .*no-engine\.sock.*StartProject fails until then$/.test(w)), opened.warnings.join("\n"));
      assert.ok(!opened.warnings.some((w) => w.startsWith("native:")), opened.warnings.join("\n"));
      const err = await failsWith(
        calls.start("noengine"),
        Code.INTERNAL,
        "START_FAILED",
        /^web: image localhost\/busybox:latest needs a container engine .*start Docker or Podman's API service.*--runtime process/,
      );
      assert.doesNotMatch(err.details, /native/);
      const status = await calls.status("noengine");
      assert.ok(status.services.every((s) => s.status === ServiceState.SERVICE_STATE_STOPPED), "nothing started");
    } finally {
      client.close();
      await daemon.stop();
      work.remove();
    }
  });
});
