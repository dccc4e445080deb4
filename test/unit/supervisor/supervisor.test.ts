import assert from "node:assert/strict";
import type { Server } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { EnsureProjectRequest, ProjectStatus, ServiceState } from "../../../generated/ghostd/supervisor/v1/supervisor";
import { DomainError } from "../../../server/errors";
import { Registry } from "../../../server/supervisor/registry";
import { RuntimeRegistry } from "../../../server/supervisor/runtime/runtimes";
import { Supervisor } from "../../../server/supervisor/supervisor";
import { FakeRuntime } from "../../helpers/fake-runtime";
import { writePackage } from "../../helpers/supervisor";
import { closeServer, listen } from "../../helpers/ports";
import { tempDir } from "../../helpers/tmp";

describe("supervisor over a fake runtime", () => {
  let home: ReturnType<typeof tempDir>;
  let runtime: FakeRuntime;
  let registry: Registry;
  let supervisor: Supervisor;

  beforeEach(() => {
    home = tempDir();
    runtime = new FakeRuntime();
    registry = new Registry(join(home.path, "registry.db"));
    supervisor = new Supervisor({ home: home.path, registry, portRange: { from: 46400, to: 46449 }, runtimes: new RuntimeRegistry([runtime], runtime.name), logger: pino({ level: "silent" }), env: {} });
  });

  afterEach(async () => {
    await supervisor.close();
    registry.close();
    home.remove();
  });

  it("GetProjectStatus answers for a project whose registered manifest this daemon no longer accepts", async () => {
    const pkg = writePackage(join(home.path, "pkg"), {
      "vibe.yaml": "kind: vibe.app/v1\nid: dev.test.fake\nname: Fake\nversion: 1.0.0\nruntime: {mode: compose}\nstate: {autosave: true}\n",
      "compose.yaml": "services:\n  app:\n    command: [server]\n",
    });
    await supervisor.ensure(EnsureProjectRequest.fromPartial({ projectId: "p", appId: "dev.test.fake", packagePath: pkg }));
    assert.equal(supervisor.status("p").autosaveEnabled, true);
    // As a later daemon with stricter rules would find it: the stored text no longer parses.
    const db = new Database(join(home.path, "registry.db"));
    try {
      db.prepare("UPDATE projects SET manifest = ? WHERE project_id = ?").run("kind: vibe.app/v0\n", "p");
    } finally {
      db.close();
    }
    const after = supervisor.status("p");
    assert.equal(after.status, ProjectStatus.PROJECT_STATUS_REGISTERED);
    assert.equal(after.autosaveEnabled, false, "a manifest that does not load autosaves nothing");
    const refused = await supervisor.open("p").then(
      () => assert.fail("opened"),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof DomainError);
    assert.deepEqual([refused.reason, refused.metadata], ["IMAGE_PULL_FAILED", { cause: "INVALID_MANIFEST" }]);
  });

  it("ResolvePorts with refresh answers the new ports when a moved service cannot start again; the service is failed", async () => {
    const pkg = writePackage(join(home.path, "pkg"), {
      "vibe.yaml": "kind: vibe.app/v1\nid: dev.test.fake\nname: Fake\nversion: 1.0.0\nruntime: {mode: compose}\n",
      "compose.yaml": "services:\n  app:\n    command: [server]\n    ports: ['80']\n",
    });
    await supervisor.ensure(EnsureProjectRequest.fromPartial({ projectId: "p", appId: "dev.test.fake", packagePath: pkg }));
    await supervisor.open("p");
    const before = (await supervisor.start("p", {})).ports[0]?.hostPort ?? 0;
    let thief: Server | undefined;
    try {
      thief = await listen(before);
      runtime.failStarts = true;
      const moved = await supervisor.resolvePorts("p", true);
      assert.equal(moved.ports.length, 1);
      assert.notEqual(moved.ports[0]?.hostPort, before);
    } finally {
      if (thief) await closeServer(thief);
    }
    const after = supervisor.status("p");
    assert.deepEqual(after.services.map((s) => s.status), [ServiceState.SERVICE_STATE_FAILED]);
    assert.equal(after.status, ProjectStatus.PROJECT_STATUS_FAILED);
    const lines: string[] = [];
    for await (const response of supervisor.logs("p", "app", false, 10, new AbortController().signal)) lines.push(...response.entries.map((e) => e.line));
    assert.ok(lines.some((l) => l.includes("could not restart: app: cannot run it any more")), lines.join("\n"));
  });

  it("StartProject refuses a secret no environment can hold as INVALID_ARGUMENT, naming it and not its value", async () => {
    const pkg = writePackage(join(home.path, "pkg"), {
      "vibe.yaml": "kind: vibe.app/v1\nid: dev.test.fake\nname: Fake\nversion: 1.0.0\nruntime: {mode: compose}\n",
      "compose.yaml": "services:\n  app:\n    command: [server]\n",
    });
    await supervisor.ensure(EnsureProjectRequest.fromPartial({ projectId: "p", appId: "dev.test.fake", packagePath: pkg }));
    await supervisor.open("p");
    const refused: Record<string, string>[] = [{ TOKEN: "hunter2\u0000" }, { "A=B": "x" }, { "": "x" }, { "NU\u0000L": "x" }];
    for (const secrets of refused) {
      const err = await supervisor.start("p", secrets).then(
        () => assert.fail(`started with ${JSON.stringify(secrets)}`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DomainError, String(err));
      assert.equal(err.reason, "INVALID_ARGUMENT", err.message);
      assert.doesNotMatch(err.message, /hunter2/);
    }
    assert.equal(runtime.runs("app"), false, "nothing started");
    await supervisor.start("p", { TOKEN: "hunter2" });
    assert.equal(runtime.runs("app"), true);
  });
});
