import assert from "node:assert/strict";
import type { Server } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { EnsureProjectRequest, ProjectStatus, ServiceState } from "../../../generated/ghostd/supervisor/v1/supervisor";
import { DomainError } from "../../../server/errors";
import { supervisorError } from "../../../server/supervisor/reasons";
import type { Exit, ResolvedMount, RunningService, RuntimeDriver, ServiceContext } from "../../../server/supervisor/runtime/driver";
import { Supervisor } from "../../../server/supervisor/supervisor";
import { writePackage } from "../../helpers/supervisor";
import { closeServer, listen } from "../../helpers/ports";
import { tempDir } from "../../helpers/tmp";

/** Above any pid_max, so no process, and no process group, ever has it. */
const FIRST_PID = 2 ** 22 + 1;

/** A runtime that runs nothing: a start is a handle that lasts until stopped, or fails when told to. */
class FakeRuntime implements RuntimeDriver {
  readonly name = "fake";
  failStarts = false;
  private nextPid = FIRST_PID;
  private readonly ends = new Map<number, (exit: Exit) => void>();

  problems(): [] {
    return [];
  }

  prepare(): Promise<{ imagesPulled: string[]; warnings: string[] }> {
    return Promise.resolve({ imagesPulled: [], warnings: [] });
  }

  start(context: ServiceContext): Promise<RunningService> {
    if (this.failStarts) return Promise.reject(supervisorError("START_FAILED", `${context.service.name}: cannot run it any more`));
    const pid = this.nextPid++;
    const exited = new Promise<Exit>((resolve) => this.ends.set(pid, resolve));
    return Promise.resolve({ id: String(pid), pid, pidStart: 1, exited });
  }

  stop(running: RunningService): Promise<void> {
    this.ends.get(running.pid)?.({ code: null, signal: "SIGTERM" });
    return running.exited.then(() => undefined);
  }

  pause(): void {}
  resume(): void {}
  exec(): Promise<number> {
    return Promise.resolve(0);
  }
  inspect(): { alive: boolean } {
    return { alive: true };
  }
  cleanup(): undefined {
    return undefined;
  }
  visiblePath(mount: ResolvedMount): string {
    return mount.hostPath;
  }
}

describe("supervisor over a fake runtime", () => {
  let home: ReturnType<typeof tempDir>;
  let runtime: FakeRuntime;
  let supervisor: Supervisor;

  beforeEach(() => {
    home = tempDir();
    runtime = new FakeRuntime();
    supervisor = new Supervisor({ home: home.path, portRange: { from: 46400, to: 46449 }, runtime, logger: pino({ level: "silent" }), env: {} });
  });

  afterEach(async () => {
    await supervisor.close();
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
});
