import assert from "node:assert/strict";
import { join } from "node:path";
import pino from "pino";
import { EnsureProjectRequest, ProjectStatus, ServiceState } from "../../../generated/ghostd/supervisor/v1/supervisor";
import { DomainError } from "../../../server/errors";
import type { ServicePlan } from "../../../server/supervisor/plan";
import { projectState, type ServiceStanding } from "../../../server/supervisor/project-run";
import { Registry } from "../../../server/supervisor/registry";
import { RuntimeRegistry } from "../../../server/supervisor/runtime/runtimes";
import { backoffMs, exitCode, restartsAfter } from "../../../server/supervisor/service-instance";
import { Supervisor } from "../../../server/supervisor/supervisor";
import { FakeRuntime } from "../../helpers/fake-runtime";
import { ManualClock } from "../../helpers/manual-clock";
import { writePackage } from "../../helpers/supervisor";
import { tempDir } from "../../helpers/tmp";

const MANIFEST = "kind: vibe.app/v1\nid: dev.test.life\nname: Life\nversion: 1.0.0\nruntime: {mode: compose}\n";

/** A supervisor over a fake runtime and a clock the test moves, on a registry of its own. */
class Harness {
  readonly clock = new ManualClock();
  readonly supervisor: Supervisor;

  constructor(
    readonly home: string,
    readonly registry: Registry,
    readonly runtime = new FakeRuntime(),
  ) {
    this.supervisor = new Supervisor({
      home,
      registry,
      portRange: { from: 46500, to: 46549 },
      runtimes: new RuntimeRegistry([runtime], runtime.name),
      logger: pino({ level: "silent" }),
      env: {},
      clock: this.clock,
    });
  }

  /** Ensures and opens a compose project; returns its namespace. */
  async project(projectId: string, compose: string): Promise<string> {
    const pkg = writePackage(join(this.home, `pkg-${projectId}`), { "vibe.yaml": MANIFEST, "compose.yaml": compose });
    const { namespace } = await this.supervisor.ensure(EnsureProjectRequest.fromPartial({ projectId, appId: "dev.test.life", packagePath: pkg }));
    await this.supervisor.open(projectId);
    return namespace;
  }

  start(projectId: string): Promise<unknown> {
    return this.clock.until(this.supervisor.start(projectId, {}));
  }

  service(projectId: string, name: string) {
    const found = this.supervisor.status(projectId).services.find((s) => s.name === name);
    assert.ok(found, `service ${name}`);
    return found;
  }

  async notes(projectId: string, service: string): Promise<string[]> {
    const lines: string[] = [];
    for await (const response of this.supervisor.logs(projectId, service, false, 1000, new AbortController().signal)) lines.push(...response.entries.map((e) => e.line));
    return lines.filter((l) => l.startsWith("[ghostd] ")).map((l) => l.slice("[ghostd] ".length));
  }
}

describe("supervisor lifecycle over a fake runtime and a manual clock", () => {
  let home: ReturnType<typeof tempDir>;
  let registry: Registry;
  let life: Harness;

  beforeEach(() => {
    home = tempDir();
    registry = new Registry(join(home.path, "registry.db"));
    life = new Harness(home.path, registry);
  });

  afterEach(async () => {
    await life.supervisor.close();
    registry.close();
    home.remove();
  });

  const CHAIN = "services:\n  web:\n    command: [web]\n    depends_on: [api]\n  api:\n    command: [api]\n    depends_on: [db]\n  db:\n    command: [db]\n";

  it("starts what a service depends on first, and stops in reverse", async () => {
    await life.project("p", CHAIN);
    await life.start("p");
    assert.deepEqual(life.runtime.journal, ["start db", "start api", "start web"]);
    assert.equal(life.supervisor.status("p").status, ProjectStatus.PROJECT_STATUS_RUNNING);
    await life.supervisor.stop("p", undefined);
    assert.deepEqual(life.runtime.journal.slice(3), ["stop web", "stop api", "stop db"]);
    assert.deepEqual(life.supervisor.status("p").services.map((s) => [s.name, s.status, s.containerId]), [
      ["db", ServiceState.SERVICE_STATE_STOPPED, ""],
      ["api", ServiceState.SERVICE_STATE_STOPPED, ""],
      ["web", ServiceState.SERVICE_STATE_STOPPED, ""],
    ]);
  });

  it("holds a service_healthy dependent until the healthcheck passes", async () => {
    await life.project("p", "services:\n  web:\n    command: [web]\n    depends_on: {db: {condition: service_healthy}}\n  db:\n    command: [db]\n    healthcheck: {test: [CMD, check], interval: 1s, retries: 5}\n");
    let ready = false;
    life.runtime.execCode = () => (ready ? 0 : 1);
    const started = life.supervisor.start("p", {});
    await life.clock.advance(250);
    await life.clock.advance(1000);
    assert.deepEqual(life.runtime.journal, ["start db", "exec db", "exec db"], "two failed probes, and web waits");
    ready = true;
    await life.clock.advance(1000);
    assert.deepEqual(life.runtime.journal.slice(3), ["exec db", "start web"], "web starts right after the passing probe");
    await life.clock.until(started);
    assert.ok((await life.notes("p", "db")).includes("health: healthy"));
  });

  it("fails the start when the healthcheck gives up, and stops what started", async () => {
    await life.project("p", "services:\n  web:\n    command: [web]\n    depends_on: {db: {condition: service_healthy}}\n  db:\n    command: [db]\n    healthcheck: {test: [CMD, check], interval: 1s, retries: 2}\n");
    life.runtime.execCode = () => 1;
    const err = await life.start("p").then(
      () => assert.fail("started"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DomainError);
    assert.equal(err.reason, "START_FAILED");
    assert.match(err.message, /^db did not become healthy: unhealthy after 2 failed checks/);
    assert.deepEqual(life.runtime.journal, ["start db", "exec db", "exec db", "stop db"]);
    assert.equal(life.supervisor.status("p").status, ProjectStatus.PROJECT_STATUS_FAILED);
  });

  it("fails the start, not hangs, when a healthcheck's service exits before its dependent asks", async () => {
    const compose =
      "services:\n  web:\n    command: [web]\n    depends_on: {setup: {condition: service_completed_successfully}, db: {condition: service_healthy}}\n" +
      "  setup:\n    command: [setup]\n  db:\n    command: [db]\n    healthcheck: {test: [CMD, check], interval: 1s, retries: 5}\n";
    await life.project("p", compose);
    life.runtime.execCode = () => 1;
    const started = life.supervisor.start("p", {});
    await life.clock.advance(10);
    life.runtime.crash("db", 3);
    await life.clock.advance(10);
    life.runtime.crash("setup", 0);
    const err = await life.clock.until(started).then(
      () => assert.fail("started"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DomainError);
    assert.equal(err.reason, "START_FAILED");
    assert.match(err.message, /^db did not become healthy: db exited with 3/);
  });

  it("fails the start when a service exits before it settled", async () => {
    await life.project("p", "services:\n  boom:\n    command: [boom]\n");
    const started = life.supervisor.start("p", {});
    await life.clock.advance(50);
    life.runtime.crash("boom", 7);
    await assert.rejects(life.clock.until(started), (e: unknown) => e instanceof DomainError && e.reason === "START_FAILED" && /boom exited with 7 right after it started/.test(e.message));
  });

  it("fails the start when a service ended before it settled, though the runtime tells its exit late", async () => {
    await life.project("p", "services:\n  boom:\n    command: [boom]\n");
    const started = life.supervisor.start("p", {});
    void started.catch(() => undefined);
    await life.clock.advance(50);
    const tell = life.runtime.endUntold("boom", 7);
    await life.clock.advance(100);
    tell();
    await assert.rejects(started, (e: unknown) => e instanceof DomainError && e.reason === "START_FAILED" && /boom exited with 7 right after it started/.test(e.message));
    assert.equal(life.supervisor.status("p").status, ProjectStatus.PROJECT_STATUS_FAILED);
  });

  it("restarts on failure after 100, 200, 400 ms, then gives up at the limit; the project is degraded", async () => {
    await life.project("p", "services:\n  flaky:\n    command: [flaky]\n    restart: on-failure:3\n  steady:\n    command: [steady]\n");
    await life.start("p");
    for (const delay of [100, 200, 400]) {
      life.runtime.crash("flaky", 3);
      await life.clock.advance(0);
      assert.deepEqual(life.clock.pending(), [delay]);
      assert.equal(life.service("p", "flaky").status, ServiceState.SERVICE_STATE_STARTING, "starting while it waits to be restarted");
      await life.clock.advance(delay - 1);
      assert.equal(life.runtime.runs("flaky"), false, `not before ${delay} ms`);
      await life.clock.advance(1);
      assert.equal(life.runtime.runs("flaky"), true, `again after ${delay} ms`);
    }
    life.runtime.crash("flaky", 3);
    await life.clock.advance(0);
    assert.deepEqual(life.clock.pending(), [], "no fourth restart");
    assert.deepEqual([life.service("p", "flaky").status, life.service("p", "flaky").restartCount], [ServiceState.SERVICE_STATE_FAILED, 3]);
    assert.equal(life.supervisor.status("p").status, ProjectStatus.PROJECT_STATUS_DEGRADED);
    assert.deepEqual((await life.notes("p", "flaky")).filter((n) => n.startsWith("restarting")), [
      "restarting in 100 ms (restart 1, policy on-failure)",
      "restarting in 200 ms (restart 2, policy on-failure)",
      "restarting in 400 ms (restart 3, policy on-failure)",
    ]);
  });

  it("doubles the backoff up to 30 s, and starts over after a run that lasted 10 s", async () => {
    await life.project("p", "services:\n  app:\n    command: [app]\n    restart: always\n");
    await life.start("p");
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      life.runtime.crash("app", 1);
      await life.clock.advance(0);
      delays.push(...life.clock.pending());
      await life.clock.advance(life.clock.pending()[0] ?? 0);
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000]);
    await life.clock.advance(10_001);
    life.runtime.crash("app", 1);
    await life.clock.advance(0);
    assert.deepEqual(life.clock.pending(), [100]);
  });

  it("does not restart a service the project is stopping", async () => {
    await life.project("p", "services:\n  app:\n    command: [app]\n    restart: always\n");
    await life.start("p");
    life.runtime.crash("app", 1);
    await life.clock.advance(0);
    await life.supervisor.stop("p", 1);
    assert.deepEqual(life.clock.pending(), [], "the pending restart is cancelled");
    assert.equal(life.service("p", "app").status, ServiceState.SERVICE_STATE_STOPPED);
  });

  it("reconcile removes what a namespace holds that this daemon did not start", async () => {
    const namespace = await life.project("p", "services:\n  app:\n    command: [app]\n");
    life.runtime.leftovers.set(namespace, [{ handle: { driver: "fake", id: "earlier-1" }, service: "app" }]);
    await life.supervisor.reconcile();
    assert.deepEqual(life.runtime.journal, ["remove earlier-1"]);
    assert.deepEqual(await life.runtime.list(namespace), []);
    assert.equal(life.supervisor.status("p").status, ProjectStatus.PROJECT_STATUS_OPEN, "not running before, not started now");
  });

  it("reconcile after a killed daemon: removes its tasks, and starts the project again", async () => {
    const namespace = await life.project("p", CHAIN);
    await life.start("p");
    const before = life.supervisor.status("p").services.map((s) => s.containerId);
    // The next daemon on the same registry; its runtime finds what the first one left running.
    const next = new Harness(home.path, registry, new FakeRuntime());
    next.runtime.leftovers.set(namespace, before.map((id, i) => ({ handle: { driver: "fake", id }, service: ["db", "api", "web"][i] })));
    await next.clock.until(next.supervisor.reconcile());
    assert.deepEqual(next.runtime.journal, [...before.map((id) => `remove ${id}`), "start db", "start api", "start web"]);
    const after = next.supervisor.status("p");
    assert.equal(after.status, ProjectStatus.PROJECT_STATUS_RUNNING);
    assert.ok(after.services.every((s) => s.containerId !== "" && !before.includes(s.containerId)), "new tasks");
    await next.supervisor.close();
  });

  it("reconcile does not start a project over what it could not list, and goes on with the others", async () => {
    const unknown = await life.project("a", "services:\n  app:\n    command: [app]\n");
    await life.project("b", "services:\n  app:\n    command: [app]\n");
    await life.start("a");
    await life.start("b");
    const next = new Harness(home.path, registry, new FakeRuntime());
    next.runtime.unlistable.add(unknown);
    await next.clock.until(next.supervisor.reconcile());
    assert.deepEqual([next.supervisor.status("a").status, next.supervisor.status("b").status], [ProjectStatus.PROJECT_STATUS_STOPPED, ProjectStatus.PROJECT_STATUS_RUNNING]);
    assert.equal(next.runtime.journal.filter((j) => j.startsWith("start")).length, 1);
    await next.supervisor.close();
  });
});

describe("project status from its services", () => {
  const plan = (name: string, dependsOn: ServicePlan["dependsOn"] = []): ServicePlan => ({ name, entrypoint: [], command: ["x"], environment: {}, ports: [], mounts: [], dependsOn, restart: { policy: "no" }, stopSignal: "SIGTERM" });
  const standing = (name: string, status: ServiceStanding["status"], lastExit?: number, dependsOn?: ServicePlan["dependsOn"]): ServiceStanding => ({ name, status, lastExit, plan: plan(name, dependsOn) });
  const needsMigrate = [{ service: "migrate", condition: "service_completed_successfully" as const, required: true }];

  it("is running when all run, degraded with a failure beside a runner, failed with none running", () => {
    assert.equal(projectState([standing("a", "running"), standing("b", "running")]), "running");
    assert.equal(projectState([standing("a", "running"), standing("b", "starting")]), "running");
    assert.equal(projectState([standing("a", "running"), standing("b", "failed", 1)]), "degraded");
    assert.equal(projectState([standing("a", "failed", 1), standing("b", "stopped", 0)]), "failed");
  });

  it("counts a one-shot that completed as done, and one that failed as failed", () => {
    assert.equal(projectState([standing("migrate", "stopped", 0), standing("app", "running", undefined, needsMigrate)]), "running");
    assert.equal(projectState([standing("migrate", "failed", 4), standing("app", "running", undefined, needsMigrate)]), "degraded");
    assert.equal(projectState([standing("other", "stopped", 0), standing("app", "running")]), "running", "a stopped service nobody waits on still counts");
  });
});

describe("restart policy", () => {
  it("restarts by policy, on-failure up to its limit", () => {
    assert.equal(restartsAfter({ policy: "no" }, 1, 0), false);
    assert.equal(restartsAfter({ policy: "always" }, 0, 99), true);
    assert.equal(restartsAfter({ policy: "unless-stopped" }, 0, 99), true);
    assert.equal(restartsAfter({ policy: "on-failure" }, 0, 0), false);
    assert.equal(restartsAfter({ policy: "on-failure" }, 1, 99), true);
    assert.equal(restartsAfter({ policy: "on-failure", maxRetries: 2 }, 1, 1), true);
    assert.equal(restartsAfter({ policy: "on-failure", maxRetries: 2 }, 1, 2), false);
  });

  it("backs off from 100 ms, doubling to at most 30 s; a signal's exit is 128 + its number", () => {
    assert.deepEqual([1, 2, 3, 9, 10, 50].map(backoffMs), [100, 200, 400, 25_600, 30_000, 30_000]);
    assert.deepEqual([exitCode({ code: 3, signal: null }), exitCode({ code: null, signal: "SIGKILL" }), exitCode({ code: null, signal: "SIGTERM" })], [3, 137, 143]);
  });
});
