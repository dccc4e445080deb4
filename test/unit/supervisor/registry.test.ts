import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { Server } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DomainError } from "../../../server/errors";
import type { ServicePlan } from "../../../server/supervisor/plan";
import { allocatePorts, heldByGroup, isFree } from "../../../server/supervisor/ports";
import { Registry, SCHEMA_VERSION } from "../../../server/supervisor/registry";
import { listen, portOf } from "../../helpers/ports";
import { tempDir } from "../../helpers/tmp";

const project = (projectId: string, namespace = `ns-${projectId}`) => ({
  projectId,
  appId: "com.example.app",
  packagePath: "/pkg",
  statePath: `/state/${projectId}`,
  manifest: "kind: vibe.app/v1",
  name: "App",
  version: "1.0.0",
  namespace,
  serviceCount: 2,
});

const service = (name: string, ...ports: ServicePlan["ports"]): ServicePlan => ({
  name,
  entrypoint: [],
  command: ["true"],
  environment: {},
  ports,
  mounts: [],
  dependsOn: [],
  restart: { policy: "no" },
  stopSignal: "SIGTERM",
});



/** The schema of registries written before task handles (user_version 1), as such a ghostd made it. */
const SCHEMA_1 = `CREATE TABLE projects (project_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, package_path TEXT NOT NULL, state_path TEXT NOT NULL,
    manifest TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, namespace TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    desired_running INTEGER NOT NULL DEFAULT 0, service_count INTEGER NOT NULL DEFAULT 0, plan TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE services (project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE, name TEXT NOT NULL, status TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0, pid_start INTEGER NOT NULL DEFAULT 0, started_at TEXT, restart_count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (project_id, name));
  CREATE TABLE ports (project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE, service_name TEXT NOT NULL, container_port INTEGER NOT NULL,
    protocol TEXT NOT NULL, host_port INTEGER NOT NULL, fixed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (project_id, service_name, container_port, protocol),
    UNIQUE (host_port, protocol));
  CREATE INDEX projects_status ON projects(status);`;

describe("supervisor registry", () => {
  let dir: ReturnType<typeof tempDir>;
  let registry: Registry;
  beforeEach(() => {
    dir = tempDir();
    registry = new Registry(join(dir.path, "registry.db"));
  });
  afterEach(() => {
    registry.close();
    dir.remove();
  });

  it("creates its schema at the current version, in WAL mode", () => {
    const db = new Database(join(dir.path, "registry.db"), { readonly: true });
    try {
      assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      db.close();
    }
  });

  it("refuses a registry written by a newer ghostd", () => {
    registry.close();
    const db = new Database(join(dir.path, "registry.db"));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => new Registry(join(dir.path, "registry.db")), /newer than this ghostd knows/);
    registry = new Registry(join(dir.path, "other.db"));
  });

  it("keeps projects, services and status across reopening", () => {
    registry.insertProject(project("p1"));
    registry.setPlan("p1", '{"services":[]}', ["db", "web"], "open");
    registry.updateService({ projectId: "p1", name: "web", status: "running", pid: 42, pidStart: 7, startedAt: "2026-01-01T00:00:00.000Z", restartCount: 2 });
    registry.setDesiredRunning("p1", true);
    registry.setStatus("p1", "running");
    registry.close();
    registry = new Registry(join(dir.path, "registry.db"));
    const row = registry.project("p1");
    assert.equal(row?.status, "running");
    assert.equal(row.desiredRunning, true);
    assert.equal(row.plan, '{"services":[]}');
    assert.deepEqual(registry.services("p1").map((s) => [s.name, s.status, s.pid, s.restartCount]), [["db", "stopped", 0, 0], ["web", "running", 42, 2]]);
  });

  it("keeps a service's task handle, and clears it", () => {
    registry.insertProject(project("p1"));
    registry.setPlan("p1", '{"services":[]}', ["web"], "open");
    const row = { projectId: "p1", name: "web", startedAt: undefined, restartCount: 0 };
    registry.updateService({ ...row, status: "running", handle: { driver: "process", id: "42@7" } });
    assert.deepEqual(registry.services("p1").map((s) => s.handle), [{ driver: "process", id: "42@7" }]);
    registry.updateService({ ...row, status: "stopped", handle: undefined });
    assert.deepEqual(registry.services("p1").map((s) => s.handle), [undefined]);
  });

  it("migrates schema 1's pid and start time into the process runtime's handle", () => {
    registry.close();
    const path = join(dir.path, "schema1.db");
    const db = new Database(path);
    db.exec(SCHEMA_1);
    db.pragma("user_version = 1");
    db.exec(`INSERT INTO projects VALUES ('p1', 'com.example.app', '/pkg', '/state', 'kind: vibe.app/v1', 'App', '1.0.0', 'ns-p1', 'running', 1, 2, '{}', 'now', 'now');
             INSERT INTO services VALUES ('p1', 'web', 'running', 42, 7, 'now', 1), ('p1', 'db', 'stopped', 0, 0, NULL, 0);`);
    db.close();
    registry = new Registry(path);
    assert.deepEqual(
      registry.services("p1").map((s) => [s.name, s.handle]),
      [["web", { driver: "process", id: "42@7" }], ["db", undefined]],
    );
  });

  it("rolls a failed transaction back whole", () => {
    registry.insertProject(project("p1"));
    assert.throws(() =>
      registry.transaction(() => {
        registry.insertProject(project("p2"));
        registry.insertProject(project("p3", "ns-p1")); // the namespace is unique
      }),
    );
    assert.deepEqual(registry.projects().map((p) => p.projectId), ["p1"]);
  });

  it("summarises projects with their port counts, filtered by status", () => {
    for (const id of ["b", "a", "c"]) registry.insertProject(project(id));
    registry.setStatus("b", "running");
    registry.insertPort({ projectId: "b", serviceName: "web", containerPort: 80, protocol: "tcp", hostPort: 41001, fixed: false });
    registry.insertPort({ projectId: "b", serviceName: "web", containerPort: 53, protocol: "udp", hostPort: 41001, fixed: false });
    assert.deepEqual(registry.summaries().map((s) => [s.projectId, s.status, s.portCount]), [["a", "registered", 0], ["b", "running", 2], ["c", "registered", 0]]);
    assert.deepEqual(registry.summaries("running").map((s) => s.projectId), ["b"]);
    assert.equal(registry.count(), 3);
    // Kept between calls, and fresh after any write.
    registry.setStatus("c", "running");
    registry.deletePorts("b");
    assert.deepEqual(registry.summaries().map((s) => [s.projectId, s.status, s.portCount]), [["a", "registered", 0], ["b", "running", 0], ["c", "running", 0]]);
    registry.insertProject(project("d"));
    assert.deepEqual(registry.summaries("registered").map((s) => s.projectId), ["a", "d"]);
  });

  it("never gives one host port to two projects", () => {
    registry.insertProject(project("a"));
    registry.insertProject(project("b"));
    registry.insertPort({ projectId: "a", serviceName: "web", containerPort: 80, protocol: "tcp", hostPort: 41005, fixed: false });
    assert.throws(() => registry.insertPort({ projectId: "b", serviceName: "web", containerPort: 80, protocol: "tcp", hostPort: 41005, fixed: false }), /UNIQUE/);
  });

  describe("ports", () => {
    const range = { from: 0, to: 0 };
    let servers: Server[] = [];
    afterEach(async () => {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      servers = [];
    });

    async function freeRange(size: number): Promise<{ from: number; to: number }> {
      // A window of the ephemeral range that is free now.
      for (let from = 42000 + Math.floor(Math.random() * 2000); ; from += size) {
        const free = await Promise.all(Array.from({ length: size }, (_, i) => isFree(from + i, "tcp")));
        if (free.every(Boolean)) return { from, to: from + size - 1 };
      }
    }

    it("allocates from the range, keeps a project's ports stable, and skips what others hold", async () => {
      const window = await freeRange(4);
      registry.insertProject(project("a"));
      registry.insertProject(project("b"));
      const plans = [service("web", { containerPort: 80, protocol: "tcp", exposure: "auto" }, { containerPort: 9000, protocol: "tcp", exposure: "none" })];
      const first = await allocatePorts(registry, window, "a", plans, false);
      assert.deepEqual(first.map((p) => [p.serviceName, p.containerPort, p.hostPort]), [["web", 80, window.from]]);
      const again = await allocatePorts(registry, window, "a", plans, false);
      assert.equal(again[0]?.hostPort, window.from);
      const other = await allocatePorts(registry, window, "b", plans, false);
      assert.equal(other[0]?.hostPort, window.from + 1);
      // Something outside ghostd takes the next one: it is skipped.
      servers.push(await listen(window.from + 2));
      registry.insertProject(project("c"));
      assert.equal((await allocatePorts(registry, window, "c", plans, false))[0]?.hostPort, window.from + 3);
      registry.insertProject(project("d"));
      await assert.rejects(allocatePorts(registry, window, "d", plans, false), (err: unknown) => err instanceof DomainError && err.reason === "PORT_CONFLICT" && /no free host port left/.test(err.message));
    });

    it("takes a port of a service's own host range (8000-9000:80) rather than of ghostd's range", async () => {
      const own = await freeRange(3);
      const window = await freeRange(2);
      registry.insertProject(project("a"));
      servers.push(await listen(own.from));
      const plans = [service("web", { containerPort: 80, protocol: "tcp", exposure: "auto", hostRange: own })];
      const [first] = await allocatePorts(registry, window, "a", plans, false);
      assert.ok(first);
      assert.equal(first.hostPort, own.from + 1, "the first free port of the service's range");
      assert.equal(first.fixed, false);
      const [again] = await allocatePorts(registry, window, "a", plans, false);
      assert.equal(again?.hostPort, own.from + 1, "kept from one start to the next");
    });

    it("moves a port something else took on recheck, and refuses a fixed port that is taken", async () => {
      const window = await freeRange(3);
      registry.insertProject(project("a"));
      const plans = [service("web", { containerPort: 80, protocol: "tcp", exposure: "auto" })];
      const [first] = await allocatePorts(registry, window, "a", plans, false);
      servers.push(await listen(first?.hostPort));
      const [moved] = await allocatePorts(registry, window, "a", plans, true);
      assert.notEqual(moved?.hostPort, first?.hostPort);
      assert.deepEqual(registry.ports("a").map((p) => p.hostPort), [moved?.hostPort]);

      const taken = await listen();
      servers.push(taken);
      const fixed = [service("web", { containerPort: 80, protocol: "tcp", exposure: "auto", hostPort: portOf(taken) })];
      await assert.rejects(allocatePorts(registry, range, "a", fixed, false), (err: unknown) => err instanceof DomainError && err.reason === "PORT_CONFLICT" && err.message.includes(`host port ${portOf(taken)}/tcp`));
      // The failed allocation changed nothing.
      assert.deepEqual(registry.ports("a").map((p) => p.hostPort), [moved?.hostPort]);
    });

    it("tells a port held by a process group from one that is not", async () => {
      const child = spawn(process.execPath, ["-e", "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))"], { detached: true, stdio: ["ignore", "pipe", "inherit"] });
      try {
        const port = Number(await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString()))));
        assert.equal(heldByGroup(port, "tcp", child.pid ?? 0), true);
        assert.equal(heldByGroup(port, "tcp", process.pid), false);
        assert.equal(heldByGroup(port, "udp", child.pid ?? 0), false);
        assert.equal(await isFree(port, "tcp"), false);
      } finally {
        child.kill("SIGKILL");
      }
    });
  });
});
