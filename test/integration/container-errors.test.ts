import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ProjectStatus, ServiceState } from "../../generated/ghostd/supervisor/v1/supervisor";
import { containerDaemon } from "../helpers/container-daemon";
import { containersOf } from "../helpers/engine";
import { BUSYBOX_IMAGE, ensureBusyboxImage, ensurePythonImage, PYTHON_IMAGE } from "../helpers/images";
import { closeServer, listen, portOf } from "../helpers/ports";
import { composeManifest, errorMetadataOf, failsWith, tailLogs, writePackage } from "../helpers/supervisor";
import { waitFor } from "../helpers/wait";

const PORT_RANGE = "47400-47499";

/**
 * Every error code seed 002 lists for the lifecycle methods, provoked as a user would with image
 * services on a real engine, each with what it leaves behind. The process runtime's are in
 * supervisor.test.ts. Of the seed's codes for these methods, none is out of reach of containers:
 * the registry's (NOT_FOUND, CONFLICT, ALREADY_OPEN...) do not depend on the runtime, and the
 * runtime's (IMAGE_PULL_FAILED, START_FAILED, PORT_CONFLICT) each have container causes here.
 */
describe("seed 002's error codes with containers (a real engine)", function () {
  this.timeout(180_000);
  const env = containerDaemon({ portRange: PORT_RANGE, images: [ensureBusyboxImage, ensurePythonImage] });
  const { ensure, open, start, stop, remove, status, ports } = env.calls;

  const idOf = (name: string): string => `cerr-${process.pid}-${name}`;

  /** Writes a compose package under `name`; its project id is cleaned up by label in `after`. */
  function newPackage(name: string, compose: string, files: Record<string, string> = {}, extra = ""): { id: string; appId: string; path: string; state: string } {
    const id = env.track(idOf(name));
    const appId = `dev.test.${name}`;
    const path = writePackage(join(env.work.path, name), { "vibe.yaml": composeManifest(appId, [], extra), "compose.yaml": compose, ...files });
    return { id, appId, path, state: join(env.work.path, `${name}-state`) };
  }

  /** Registers a compose package and returns its project id. */
  async function project(name: string, compose: string, files: Record<string, string> = {}, extra = ""): Promise<string> {
    const pkg = newPackage(name, compose, files, extra);
    await ensure({ projectId: pkg.id, appId: pkg.appId, packagePath: pkg.path, statePath: pkg.state });
    return pkg.id;
  }

  /** Registers and opens a compose package. */
  async function opened(name: string, compose: string, files: Record<string, string> = {}, extra = ""): Promise<string> {
    const id = await project(name, compose, files, extra);
    await open(id);
    return id;
  }

  /** The project's status, and that the engine holds no container of it: what a failed start must leave. */
  async function assertNothingRuns(id: string, expected: ProjectStatus): Promise<void> {
    const after = await status(id);
    assert.equal(after.status, expected, `${id}: ${ProjectStatus[after.status]}`);
    assert.ok(
      after.services.every((s) => s.status === ServiceState.SERVICE_STATE_STOPPED || s.status === ServiceState.SERVICE_STATE_FAILED),
      JSON.stringify(after.services),
    );
    assert.deepEqual([...(await containersOf(env.docker, id)).keys()], [], `${id}: no container is left behind`);
  }

  describe("EnsureProject", () => {
    it("INVALID_MANIFEST naming every container field at fault; nothing is registered", async () => {
      const pkg = newPackage(
        "badfields",
        `services:\n  app:\n    build: ../outside\n    pull_policy: sometimes\n    labels: {ghostd.project: theirs}\n    image: ${BUSYBOX_IMAGE}\n`,
      );
      const err = await failsWith(ensure({ projectId: pkg.id, appId: pkg.appId, packagePath: pkg.path }), Code.INVALID_ARGUMENT, "INVALID_MANIFEST");
      assert.match(err.details, /build\.context: must be a relative path inside the package/);
      assert.match(err.details, /pull_policy: must be missing, always, never or build, not "sometimes"/);
      assert.match(err.details, /labels: ghostd\.project: labels under ghostd\. are ghostd's own/);
      await failsWith(status(pkg.id), Code.NOT_FOUND, "NOT_FOUND");
    });

    it("PATH_NOT_FOUND for a package that is not there", async () => {
      await failsWith(ensure({ projectId: idOf("nowhere"), appId: "dev.test.nowhere", packagePath: join(env.work.path, "no-such-package") }), Code.NOT_FOUND, "PATH_NOT_FOUND", /no-such-package/);
      await failsWith(status(idOf("nowhere")), Code.NOT_FOUND, "NOT_FOUND");
    });

    it("CONFLICT for a registered project asked for with another app; the registration stays", async () => {
      const pkg = newPackage("taken", `services:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    command: [sleep, "600"]\n`);
      await ensure({ projectId: pkg.id, appId: pkg.appId, packagePath: pkg.path, statePath: pkg.state });
      await failsWith(ensure({ projectId: pkg.id, appId: "dev.test.other", packagePath: pkg.path, statePath: pkg.state }), Code.ALREADY_EXISTS, "CONFLICT", /registered with app_id dev\.test\.taken/);
      const kept = await status(pkg.id);
      assert.equal(kept.appId, pkg.appId);
      assert.equal(kept.status, ProjectStatus.PROJECT_STATUS_REGISTERED);
    });
  });

  it("every lifecycle method: NOT_FOUND for a project never registered, and nothing made on the engine", async () => {
    const id = idOf("never-registered");
    for (const attempt of [open(id), start(id), stop(id), remove(id), remove(id, true), status(id), ports(id), ports(id, true)]) {
      await failsWith(attempt, Code.NOT_FOUND, "NOT_FOUND", new RegExp(`no project ${id}`));
    }
    assert.deepEqual(await env.docker.listNetworks({ filters: { label: [`ghostd.project=${id}`] } }), []);
    assert.equal((await containersOf(env.docker, id)).size, 0);
  });

  describe("OpenProject", () => {
    it("IMAGE_PULL_FAILED for an image pull_policy never finds absent; the project stays registered, not open", async () => {
      const id = await project("neverpull", "services:\n  db:\n    image: localhost/ghostd-no-such-image:1\n    pull_policy: never\n");
      await failsWith(open(id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /db: image localhost\/ghostd-no-such-image:1: it is not on this machine, and pull_policy: never forbids a pull/);
      assert.equal((await status(id)).status, ProjectStatus.PROJECT_STATUS_REGISTERED);
      await failsWith(start(id), Code.FAILED_PRECONDITION, "NOT_OPEN");
    });

    it("IMAGE_PULL_FAILED for pull_policy build without a build, naming the service", async () => {
      const id = await project("buildnothing", `services:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    pull_policy: build\n`);
      const err = await failsWith(open(id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /app: pull_policy: build needs a build: section/);
      assert.deepEqual(errorMetadataOf(err), { services: "app" });
      assert.equal((await status(id)).status, ProjectStatus.PROJECT_STATUS_REGISTERED);
    });

    it("IMAGE_PULL_FAILED for a build whose context has no Dockerfile; no image is left", async () => {
      const id = await project("nodockerfile", "services:\n  app:\n    build: ./app\n", { "app/readme.txt": "no Dockerfile here\n" });
      await failsWith(open(id), Code.UNAVAILABLE, "IMAGE_PULL_FAILED", /app: the build failed: .*Dockerfile/i);
      assert.deepEqual(await env.docker.listImages({ filters: { label: [`ghostd.project=${id}`] } }), []);
      assert.equal((await status(id)).status, ProjectStatus.PROJECT_STATUS_REGISTERED);
    });

    it("ALREADY_OPEN for an open project, and for a running one, which runs on untouched", async () => {
      const id = await opened("twiceopen", `services:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    command: [sleep, "600"]\n    stop_signal: SIGKILL\n`);
      await failsWith(open(id), Code.FAILED_PRECONDITION, "ALREADY_OPEN", /is open already/);
      const started = await start(id);
      await failsWith(open(id), Code.FAILED_PRECONDITION, "ALREADY_OPEN");
      const after = await status(id);
      assert.equal(after.status, ProjectStatus.PROJECT_STATUS_RUNNING);
      assert.equal(after.services[0]?.containerId, started.services[0]?.containerId);
      await stop(id);
    });
  });

  describe("StartProject, StopProject, ResolvePorts: the project's state", () => {
    it("NOT_OPEN, MISSING_SECRET, ALREADY_RUNNING; NOT_RUNNING for stop and refresh; NOT_OPEN again after a delete", async () => {
      const compose = `services:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    command: [sh, -c, 'echo "token has $\${#API_TOKEN} characters"; exec sleep 600']\n    environment: [API_TOKEN]\n    ports: ["8080"]\n    stop_signal: SIGKILL\n`;
      const id = await project("states", compose, {}, "secrets:\n  - {name: API_TOKEN, required: true}\n");
      await failsWith(start(id, { API_TOKEN: "x" }), Code.FAILED_PRECONDITION, "NOT_OPEN", /call OpenProject first/);
      await failsWith(stop(id), Code.FAILED_PRECONDITION, "NOT_RUNNING", /is not running/);
      await open(id);
      await failsWith(start(id), Code.INVALID_ARGUMENT, "MISSING_SECRET", /needs the secret API_TOKEN/);
      await assertNothingRuns(id, ProjectStatus.PROJECT_STATUS_OPEN);
      assert.deepEqual((await ports(id)).ports, [], "a refused start allocates no port");
      await failsWith(ports(id, true), Code.FAILED_PRECONDITION, "NOT_RUNNING", /refresh re-checks the ports of a running project/);

      const started = await start(id, { API_TOKEN: "s3cret" });
      const container = started.services[0]?.containerId ?? "";
      await failsWith(start(id, { API_TOKEN: "s3cret" }), Code.FAILED_PRECONDITION, "ALREADY_RUNNING", /is running/);
      const containers = [...(await containersOf(env.docker, id)).values()];
      assert.deepEqual(containers.map((c) => c.Id), [container], "the refused start made no second container");

      await stop(id);
      await failsWith(stop(id), Code.FAILED_PRECONDITION, "NOT_RUNNING");
      await failsWith(ports(id, true), Code.FAILED_PRECONDITION, "NOT_RUNNING");
      assert.deepEqual((await ports(id)).ports, started.ports, "a stopped project keeps its ports");
      await remove(id);
      await failsWith(start(id, { API_TOKEN: "s3cret" }), Code.FAILED_PRECONDITION, "NOT_OPEN");
      await assertNothingRuns(id, ProjectStatus.PROJECT_STATUS_REGISTERED);
    });
  });

  describe("StartProject: START_FAILED for what keeps a container from running", () => {
    it("a container that exits at once, with its last lines", async () => {
      const id = await opened("exitsatonce", `services:\n  boom:\n    image: ${BUSYBOX_IMAGE}\n    command: [sh, -c, 'echo config missing >&2; echo giving up; exit 7']\n`);
      // Twice: the second start meets nothing left of the first (its container would hold the name).
      for (let attempt = 1; attempt <= 2; attempt++) {
        await failsWith(start(id), Code.INTERNAL, "START_FAILED", /boom exited with 7 right after it started; last lines of boom: .*config missing/);
        await assertNothingRuns(id, ProjectStatus.PROJECT_STATUS_FAILED);
      }
    });

    it("an entrypoint the image lacks, given in the compose file or the image's own", async () => {
      const given = await opened("noentry", `services:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    entrypoint: [/opt/no-such-entrypoint]\n    command: [serve]\n`);
      await failsWith(start(given), Code.INTERNAL, "START_FAILED", /app: the container engine refused it: .*\/opt\/no-such-entrypoint/);
      await assertNothingRuns(given, ProjectStatus.PROJECT_STATUS_FAILED);

      const dockerfile = `FROM ${BUSYBOX_IMAGE}\nENTRYPOINT ["/usr/local/bin/app-server"]\n`;
      const own = await opened("imageentry", "services:\n  app:\n    build: .\n", { Dockerfile: dockerfile });
      await failsWith(start(own), Code.INTERNAL, "START_FAILED", /app: the container engine refused it: .*\/usr\/local\/bin\/app-server/);
      await assertNothingRuns(own, ProjectStatus.PROJECT_STATUS_FAILED);
    });

    it("a user the image does not have", async () => {
      const id = await opened("nouser", `services:\n  app:\n    image: ${PYTHON_IMAGE}\n    command: [sleep, "600"]\n    user: ghostd-no-such-user\n`);
      await failsWith(start(id), Code.INTERNAL, "START_FAILED", /app: the container engine refused it: .*ghostd-no-such-user/);
      await assertNothingRuns(id, ProjectStatus.PROJECT_STATUS_FAILED);
    });

    it("a service_healthy dependency whose healthcheck, run through the engine's exec, never passes", async () => {
      const compose = `services:
  db:
    image: ${BUSYBOX_IMAGE}
    command: [sh, -c, 'echo db is broken >&2; exec sleep 600']
    healthcheck: {test: [CMD, test, -e, /tmp/ready], interval: 100ms, retries: 2}
    stop_signal: SIGKILL
  web:
    image: ${BUSYBOX_IMAGE}
    command: [sleep, "600"]
    depends_on: {db: {condition: service_healthy}}
`;
      const id = await opened("unhealthy", compose);
      await failsWith(start(id), Code.INTERNAL, "START_FAILED", /db did not become healthy: unhealthy after 2 failed checks; last lines of db: db is broken/);
      await assertNothingRuns(id, ProjectStatus.PROJECT_STATUS_FAILED);
      const web = (await status(id)).services.find((s) => s.name === "web");
      assert.equal(web?.containerId, "", "web never started");
    });

    it("a one-shot that service_completed_successfully waits for exits non-zero", async () => {
      const compose = `services:
  migrate:
    image: ${BUSYBOX_IMAGE}
    command: [sh, -c, 'echo migrating; echo no schema table >&2; exit 4']
  app:
    image: ${BUSYBOX_IMAGE}
    command: [sleep, "600"]
    depends_on: {migrate: {condition: service_completed_successfully}}
`;
      const id = await opened("failedmigration", compose);
      const err = await failsWith(start(id), Code.INTERNAL, "START_FAILED", /^migrate exited with 4; app needs it to complete successfully; last lines of migrate: /);
      // Its stdout and stderr come through the engine apart: their lines may come in either order.
      assert.match(err.details, /last lines of migrate: .*migrating/);
      assert.match(err.details, /last lines of migrate: .*no schema table/);
      await assertNothingRuns(id, ProjectStatus.PROJECT_STATUS_FAILED);
    });
  });

  describe("a host port something else holds", () => {
    it("StartProject: START_FAILED with cause PORT_CONFLICT, for a fixed port and for a range used up", async () => {
      const holder = await listen();
      const taken = portOf(holder);
      try {
        const fixed = await opened("fixedport", `services:\n  www:\n    image: ${BUSYBOX_IMAGE}\n    command: [httpd, -f, -p, "8080"]\n    ports: ["${taken}:8080"]\n`);
        const err = await failsWith(start(fixed), Code.INTERNAL, "START_FAILED", new RegExp(`www asks for host port ${taken}/tcp, which something else holds`));
        assert.deepEqual(errorMetadataOf(err), { cause: "PORT_CONFLICT", service: "www", host_port: String(taken), protocol: "tcp" });
        await assertNothingRuns(fixed, ProjectStatus.PROJECT_STATUS_OPEN);
        assert.deepEqual((await ports(fixed)).ports, [], "no port is kept for a start that did not happen");

      } finally {
        await closeServer(holder);
      }
      // The top of this file's port range, which its projects' own ports never reach.
      const holders = await Promise.all([47498, 47499].map((port) => listen(port)));
      try {
        const range = await opened("usedrange", `services:\n  www:\n    image: ${BUSYBOX_IMAGE}\n    command: [httpd, -f, -p, "8080"]\n    ports: ["47498-47499:8080"]\n`);
        const used = await failsWith(start(range), Code.INTERNAL, "START_FAILED", /no free host port left in 47498-47499 for www:8080/);
        assert.deepEqual(errorMetadataOf(used), { cause: "PORT_CONFLICT", service: "www", container_port: "8080", protocol: "tcp" });
        await assertNothingRuns(range, ProjectStatus.PROJECT_STATUS_OPEN);
      } finally {
        await Promise.all(holders.map(closeServer));
      }
    });

    it("ResolvePorts: PORT_CONFLICT on refresh once another process took the fixed port of a service that stopped holding it", async () => {
      const spare = await listen();
      const fixedPort = portOf(spare);
      await closeServer(spare);
      const compose = `services:
  www:
    image: ${BUSYBOX_IMAGE}
    command: [httpd, -f, -p, "8080"]
    ports: ["${fixedPort}:8080"]
    stop_signal: SIGKILL
  idle:
    image: ${BUSYBOX_IMAGE}
    command: [sleep, "600"]
    stop_signal: SIGKILL
`;
      const id = await opened("refreshconflict", compose);
      await start(id);
      assert.deepEqual((await ports(id, true)).ports.map((p) => p.hostPort), [fixedPort], "its own service holds it: no conflict");
      const www = (await containersOf(env.docker, id)).get("www");
      assert.ok(www);
      await env.docker.getContainer(www.Id).kill({ signal: "SIGKILL" });
      await waitFor("www to have failed", async () => (await status(id)).services.find((s) => s.name === "www")?.status === ServiceState.SERVICE_STATE_FAILED, 20_000);
      const intruder = await waitFor("the port to be free", () => listen(fixedPort).catch(() => undefined), 10_000);
      try {
        const err = await failsWith(ports(id, true), Code.ALREADY_EXISTS, "PORT_CONFLICT", new RegExp(`www asks for host port ${fixedPort}/tcp, which something else holds`));
        assert.deepEqual(errorMetadataOf(err), { service: "www", host_port: String(fixedPort), protocol: "tcp" });
        const after = await status(id);
        assert.equal(after.status, ProjectStatus.PROJECT_STATUS_DEGRADED);
        assert.deepEqual([...(await containersOf(env.docker, id)).keys()], ["idle"], "the refused refresh restarted nothing and stopped nothing");
        assert.deepEqual((await ports(id)).ports.map((p) => p.hostPort), [fixedPort], "the allocation is as it was");
      } finally {
        await closeServer(intruder);
      }
      await stop(id);
    });
  });

  it("a healthcheck probe that outlives its timeout is ended: nothing of it stays in the container", async () => {
    // One probe in the first minute: the one that times out is the only one to look for.
    const compose = `services:\n  db:\n    image: ${BUSYBOX_IMAGE}\n    command: [sleep, "600"]\n    healthcheck: {test: [CMD-SHELL, "sleep 300"], timeout: 1s, interval: 60s, retries: 1}\n    stop_signal: SIGKILL\n`;
    const id = await opened("probetimeout", compose);
    await start(id);
    await waitFor("the probe to time out", async () => (await tailLogs(env.client, { projectId: id, serviceName: "db" })).some((e) => e.line === "[ghostd] health: unhealthy"), 20_000);
    const db = (await containersOf(env.docker, id)).get("db");
    assert.ok(db);
    const processes = async (): Promise<string[]> => {
      // Docker gives a row of columns, Podman one string per row.
      const top = (await env.docker.getContainer(db.Id).top()) as { Processes?: string[][] };
      return (top.Processes ?? []).map((row) => row.join(" "));
    };
    assert.ok((await processes()).some((p) => p.includes("sleep 600")), "the listing holds the service itself");
    await waitFor("the probe's processes to be gone", async () => !(await processes()).some((p) => p.includes("sleep 300")), 5000);
    await stop(id);
  });

  it("DeleteProjectRuntime: STILL_RUNNING for a running container project, which runs on; force removes its containers and network", async () => {
    // init: as PID 1, sleep and python would ignore the stop signal and wait out the grace.
    const compose = `services:\n  a:\n    image: ${BUSYBOX_IMAGE}\n    command: [sleep, "600"]\n    init: true\n  b:\n    image: ${PYTHON_IMAGE}\n    command: [python3, -c, "import time; time.sleep(600)"]\n    init: true\n    depends_on: [a]\n`;
    const id = await opened("stillrunning", compose);
    const started = await start(id);
    const before = [...(await containersOf(env.docker, id)).values()].map((c) => c.Id).sort();
    assert.equal(before.length, 2);
    await failsWith(remove(id), Code.FAILED_PRECONDITION, "STILL_RUNNING", /is running; stop it first, or pass force/);
    assert.deepEqual([...(await containersOf(env.docker, id)).values()].map((c) => c.Id).sort(), before, "a refused delete leaves every container running");
    assert.equal((await status(id)).status, ProjectStatus.PROJECT_STATUS_RUNNING);

    const removed = await remove(id, true);
    for (const service of started.services) assert.ok(removed.resourcesRemoved.includes(`container ${service.containerId} (${service.name})`), removed.resourcesRemoved.join("\n"));
    assert.ok(removed.resourcesRemoved.some((r) => r.startsWith("network ")), removed.resourcesRemoved.join("\n"));
    assert.equal((await containersOf(env.docker, id)).size, 0, "no container of the project remains");
    assert.deepEqual(await env.docker.listNetworks({ filters: { label: [`ghostd.project=${id}`] } }), []);
    await assertNothingRuns(id, ProjectStatus.PROJECT_STATUS_REGISTERED);
    await failsWith(stop(id), Code.FAILED_PRECONDITION, "NOT_RUNNING");
  });
});
