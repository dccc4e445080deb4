import { MIN_CHUNK } from "../../server/supervisor/snapshots/chunking";
import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SupervisorProgressClient, WatchSnapshotProgressRequest, type WatchSnapshotProgressResponse, SnapshotPhase } from "../../generated/ghostd/supervisor/v1/progress";
import { ServiceState, SnapshotReason, type SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { credentials } from "@grpc/grpc-js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { call, JSON_TYPE } from "../helpers/http";
import Database from "better-sqlite3";
import { packageRoot } from "../../cli/package-info";
import { SnapshotRepository } from "../../server/supervisor/snapshots/repository";
import { listTree, pseudoRandomBytes } from "../helpers/state-tree";
import { supervisorCalls, type SupervisorCalls } from "../helpers/supervisor-calls";
import { failsWith, supervisorClient, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

const PORT_RANGE = "47900-47999";
const TODO = join(packageRoot, "examples", "todo");

/** A native package whose one service, when started, appends a line to its volume every 50 ms. */
function manifest(id: string, extra = ""): string {
  return `kind: vibe.app/v1
id: ${id}
name: Snap ${id}
version: 2.1.0
runtime: {mode: native}
services:
  - name: ticker
    command: [sh, -c, 'while true; do date +%s%N >> "$GHOSTD_MOUNT_DATA/ticks"; sleep 0.05; done']
    mounts: [{source: "state:data", target: /data}]
state:
  volumes: [{name: data, consistency: generic}]
${extra}`;
}

describe("snapshots (SaveSnapshot, RestoreSnapshot, ListSnapshots, DuplicateProject)", function () {
  this.timeout(120_000);
  let daemon: DaemonProcess;
  let client: SupervisorClient;
  let calls: SupervisorCalls;
  let http: string;
  let work: ReturnType<typeof tempDir>;
  let counter = 0;

  before(async () => {
    work = tempDir();
    daemon = await spawnDaemon({ args: ["--port-range", PORT_RANGE, "--log-level", "warn", "--runtime", "process"] });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
    calls = supervisorCalls(client);
    http = daemon.endpoints.http ?? "";
  });

  after(async () => {
    client.close();
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  /** A registered project with the ticker package; its state's data volume is where tests write. */
  async function project(extra = "", appId = `dev.test.snap${counter + 1}`): Promise<{ id: string; appId: string; state: string; data: string }> {
    const id = `snap${++counter}`;
    const pkg = writePackage(join(work.path, `pkg-${id}`), { "vibe.yaml": manifest(appId, extra) });
    const state = join(work.path, `state-${id}`);
    await calls.ensure({ projectId: id, appId, packagePath: pkg, statePath: state });
    const data = join(state, "current", "volumes", "data");
    mkdirSync(data, { recursive: true });
    return { id, appId, state, data };
  }

  /** Files of several kinds: text, binary over one chunk, an empty file, nested directories, a link. */
  function fill(data: string): void {
    mkdirSync(join(data, "docs", "deep"), { recursive: true });
    writeFileSync(join(data, "docs", "readme.txt"), "hello snapshots\n".repeat(1000));
    // Seeded, so its chunk boundaries are always the same: appending to it changes a last chunk of 0.5 MiB.
    writeFileSync(join(data, "docs", "deep", "blob.bin"), pseudoRandomBytes("snapshots blob", 6 * 1024 * 1024));
    writeFileSync(join(data, "empty"), "");
    writeFileSync(join(data, "script.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    chmodSync(join(data, "docs", "deep"), 0o750);
    symlinkSync("docs/readme.txt", join(data, "link-to-readme"));
    utimesSync(join(data, "docs", "readme.txt"), 1_600_000_000.123456, 1_600_000_000.123456);
  }

  it("restores files, modes, times and links exactly, after changes, additions, deletions, chmod and a new link", async () => {
    const p = await project();
    fill(p.data);
    const before = listTree(join(p.state, "current"));
    const saved = await calls.saveSnapshot({ projectId: p.id, labels: { purpose: "test" } });
    assert.match(saved.stateDigest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(saved.sizeBytes, 16_000 + 6 * 1024 * 1024 + 18);

    writeFileSync(join(p.data, "docs", "readme.txt"), "changed\n");
    appendFileSync(join(p.data, "docs", "deep", "blob.bin"), "tail");
    writeFileSync(join(p.data, "added.txt"), "new file");
    rmSync(join(p.data, "empty"));
    chmodSync(join(p.data, "script.sh"), 0o600);
    rmSync(join(p.data, "link-to-readme"));
    symlinkSync("/etc/passwd", join(p.data, "link-to-readme"));
    symlinkSync("nowhere", join(p.data, "dangling"));
    assert.notDeepEqual(listTree(join(p.state, "current")), before);

    const restored = await calls.restoreSnapshot({ projectId: p.id, snapshotId: saved.snapshotId });
    assert.equal(restored.restoredSnapshotId, saved.snapshotId);
    assert.ok(restored.safetySnapshotId, "a safety snapshot is taken when create_safety_snapshot is unset");
    assert.deepEqual(listTree(join(p.state, "current")), before);

    const { snapshots } = await calls.listSnapshots({ projectId: p.id });
    assert.deepEqual(
      snapshots.map((s) => [s.snapshotId, s.reason]),
      [
        [restored.safetySnapshotId, SnapshotReason.SNAPSHOT_REASON_BEFORE_RESTORE],
        [saved.snapshotId, SnapshotReason.SNAPSHOT_REASON_MANUAL],
      ],
    );
    const [safety, first] = snapshots;
    assert.ok(safety && first);
    assert.equal(safety.parentSnapshotId, saved.snapshotId);
    assert.equal(first.parentSnapshotId, undefined);
    assert.deepEqual(first.labels, { purpose: "test" });
    assert.equal(first.appVersion, "2.1.0");
    assert.equal(first.stateDigest, saved.stateDigest);
    assert.equal(first.sizeBytes, saved.sizeBytes);
    assert.ok(first.addedBytes > 6 * 1024 * 1024, "the first snapshot stored the incompressible blob in full");
    assert.ok(safety.addedBytes < 1024 * 1024, "the safety snapshot stored only what changed, compressed");
    assert.ok(first.timestamp && safety.timestamp && first.timestamp <= safety.timestamp);
    assert.equal((await calls.status(p.id)).snapshotCount, 2);

    // The safety snapshot holds the changed state: restoring it brings the changes back.
    await calls.restoreSnapshot({ projectId: p.id, snapshotId: restored.safetySnapshotId, createSafetySnapshot: false });
    assert.equal(readFileSync(join(p.data, "added.txt"), "utf8"), "new file");
    assert.equal(readFileSync(join(p.data, "docs", "readme.txt"), "utf8"), "changed\n");
    assert.equal((await calls.listSnapshots({ projectId: p.id })).snapshots.length, 2, "create_safety_snapshot false takes none");
  });

  it("gives the same state_digest for the same content, whatever the times, and another for other content", async () => {
    const a = await project();
    const b = await project();
    for (const data of [a.data, b.data]) {
      writeFileSync(join(data, "same.txt"), "same content");
      mkdirSync(join(data, "dir"));
      symlinkSync("same.txt", join(data, "dir", "link"));
    }
    utimesSync(join(b.data, "same.txt"), 1_000_000, 1_000_000);
    const [first, second] = [await calls.saveSnapshot({ projectId: a.id }), await calls.saveSnapshot({ projectId: b.id })];
    assert.equal(first.stateDigest, second.stateDigest);
    assert.equal((await calls.saveSnapshot({ projectId: a.id })).stateDigest, first.stateDigest, "saved again unchanged");
    chmodSync(join(a.data, "same.txt"), 0o600);
    assert.notEqual((await calls.saveSnapshot({ projectId: a.id })).stateDigest, first.stateDigest, "a mode is content");
    writeFileSync(join(b.data, "same.txt"), "same contenT");
    assert.notEqual((await calls.saveSnapshot({ projectId: b.id })).stateDigest, first.stateDigest);
  });

  it("stores identical data once and an unchanged file is not stored again", async () => {
    const p = await project();
    const blob = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(p.data, "one.bin"), blob);
    writeFileSync(join(p.data, "two.bin"), blob);
    const first = await calls.saveSnapshot({ projectId: p.id });
    assert.ok(first.addedBytes < blob.length * 1.1, `two copies of a 3 MiB file added ${first.addedBytes} bytes`);
    const second = await calls.saveSnapshot({ projectId: p.id });
    assert.equal(second.addedBytes, 0);
    const chunks = readdirSync(join(p.state, "snapshots", "chunks"), { recursive: true }).filter((n) => /[0-9a-f]{64}$/.test(String(n)));
    assert.ok(chunks.length >= 2 && chunks.length <= 12, `${chunks.length} chunks for 3 MiB of random data`);
  });

  it("stops a running project around a restore and starts it again, and pauses its writers during a save", async () => {
    const p = await project();
    await calls.open(p.id);
    const started = await calls.start(p.id);
    const ticks = join(p.data, "ticks");
    await waitFor("the ticker writes", () => existsSync(ticks) && readFileSync(ticks, "utf8").split("\n").length > 3);
    const beforeSave = readFileSync(ticks, "utf8");
    const saved = await calls.saveSnapshot({ projectId: p.id });
    const document = await new SnapshotRepository(join(p.state, "snapshots")).readDocument(saved.snapshotId);
    assert.deepEqual(document.volumes, [{ name: "data", consistency: "generic", result: "ok", details: [], paused: ["ticker"] }]);
    await waitFor("more ticks after the save", () => readFileSync(ticks, "utf8").length > beforeSave.length + 100);
    const restored = await calls.restoreSnapshot({ projectId: p.id, snapshotId: saved.snapshotId, createSafetySnapshot: false });
    assert.deepEqual(
      restored.services.map((s) => [s.name, s.status]),
      [["ticker", ServiceState.SERVICE_STATE_RUNNING]],
    );
    assert.notEqual(restored.services[0]?.containerId, started.services[0]?.containerId, "the service was started again");
    // The restored file holds every tick written before the save began, whole lines in order, then the new run's.
    const after = readFileSync(ticks, "utf8");
    assert.ok(after.startsWith(beforeSave), "the ticks from before the save are restored");
    const lines = after.split("\n").filter(Boolean);
    assert.ok(lines.every((line) => /^\d{19}$/.test(line)), "every line is whole");
    assert.deepEqual([...lines].sort(), lines);
    await calls.stop(p.id);
  });

  it("follows a save's progress on SupervisorProgress/WatchSnapshotProgress", async () => {
    const p = await project();
    writeFileSync(join(p.data, "big.bin"), randomBytes(20 * 1024 * 1024));
    const progress = new SupervisorProgressClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
    const stream = progress.watchSnapshotProgress(WatchSnapshotProgressRequest.fromPartial({ projectId: p.id }));
    const events: WatchSnapshotProgressResponse[] = [];
    stream.on("data", (event: WatchSnapshotProgressResponse) => events.push(event));
    stream.on("error", () => undefined);
    // The first message says what runs now (nothing), so the watch is in place before the save.
    const idle = await waitFor("the watch's first message", () => events[0]);
    assert.equal(idle.phase, SnapshotPhase.SNAPSHOT_PHASE_UNSPECIFIED);
    events.length = 0;
    const saved = await calls.saveSnapshot({ projectId: p.id });
    await waitFor("the done event", () => events.some((e) => e.phase === SnapshotPhase.SNAPSHOT_PHASE_DONE));
    stream.cancel();
    progress.close();
    const phases = events.map((e) => e.phase);
    assert.equal(phases[0], SnapshotPhase.SNAPSHOT_PHASE_PREPARING);
    assert.ok(phases.includes(SnapshotPhase.SNAPSHOT_PHASE_TRANSFERRING));
    const done = events.at(-1);
    assert.equal(done?.snapshotId, saved.snapshotId);
    const transferred = events.filter((e) => e.phase === SnapshotPhase.SNAPSHOT_PHASE_TRANSFERRING).at(-1);
    assert.equal(transferred?.bytesDone, 20 * 1024 * 1024);
    assert.equal(transferred.bytesTotal, 20 * 1024 * 1024);
  });

  describe("every error code of the four methods", () => {
    const unknown = "00000000-0000-4000-8000-000000000000";

    it("SaveSnapshot: NOT_FOUND, INVALID_ARGUMENT for a reason or labels out of bounds, SAVE_IN_PROGRESS, SAVE_FAILED", async () => {
      await failsWith(calls.saveSnapshot({ projectId: "nope" }), Code.NOT_FOUND, "NOT_FOUND", /no project nope/);
      const p = await project();
      await failsWith(calls.saveSnapshot({ projectId: p.id, reason: 9 as unknown as SnapshotReason }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", /manual, autosave, before-upgrade, before-restore/);
      await failsWith(calls.saveSnapshot({ projectId: p.id, labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])) }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", /at most 64 labels/);
      await failsWith(calls.saveSnapshot({ projectId: p.id, labels: { "bad key": "v" } }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", /label "bad key"/);
      await failsWith(calls.saveSnapshot({ projectId: p.id, labels: { k: "x".repeat(1025) } }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", /at most 1024/);
      const overHttp = await call({ base: http, method: "POST", path: `/v1/projects/${p.id}/snapshots`, headers: JSON_TYPE, body: JSON.stringify({ reason: "whenever" }) });
      assert.equal(overHttp.status, 400, overHttp.text);
      assert.match(overHttp.text, /reason/);

      // Two saves at once: the second is refused while the first runs, and the first succeeds.
      for (let i = 0; i < 8; i++) writeFileSync(join(p.data, `big${i}.bin`), randomBytes(8 * 1024 * 1024));
      const first = calls.saveSnapshot({ projectId: p.id });
      await failsWith(calls.saveSnapshot({ projectId: p.id }), Code.ABORTED, "SAVE_IN_PROGRESS", /being saved/);
      const saved = await first;
      assert.equal((await calls.listSnapshots({ projectId: p.id })).snapshots.length, 1);

      // An SQLite volume whose database is corrupt cannot be copied consistently: nothing is kept, current/ untouched.
      const q = await project("", `dev.test.sqlite${counter}`);
      const volume = join(q.state, "current", "volumes", "data");
      writeFileSync(join(volume, "app.db"), Buffer.concat([Buffer.from("SQLite format 3\0"), randomBytes(8192)]));
      writeFileSync(join(volume, "other.txt"), "kept");
      const beforeFailure = listTree(join(q.state, "current"));
      const sqliteManifest = manifest(q.appId).replace("consistency: generic", "consistency: sqlite");
      await calls.ensure({ projectId: q.id, appId: q.appId, packagePath: join(work.path, `pkg-${q.id}`), statePath: q.state, manifest: sqliteManifest });
      await failsWith(calls.saveSnapshot({ projectId: q.id }), Code.INTERNAL, "SAVE_FAILED", /app\.db/);
      assert.deepEqual(listTree(join(q.state, "current")), beforeFailure);
      assert.equal((await calls.listSnapshots({ projectId: q.id })).snapshots.length, 0);
      const left = readdirSync(join(q.state, "snapshots"), { recursive: true }).map(String).filter((n) => /[0-9a-f]{64}$/.test(n) || n.startsWith("work/"));
      assert.deepEqual(left, [], "no chunk or work file of the failed save is left");
      assert.ok(saved.snapshotId);
    });

    it("RestoreSnapshot: NOT_FOUND, SNAPSHOT_MISMATCH, RESTORE_FAILED with current/ and the services as they were", async () => {
      await failsWith(calls.restoreSnapshot({ projectId: "nope", snapshotId: unknown }), Code.NOT_FOUND, "NOT_FOUND");
      const p = await project();
      fill(p.data);
      const saved = await calls.saveSnapshot({ projectId: p.id });
      await failsWith(calls.restoreSnapshot({ projectId: p.id, snapshotId: unknown }), Code.NOT_FOUND, "NOT_FOUND", /has no snapshot/);
      await failsWith(calls.restoreSnapshot({ projectId: p.id, snapshotId: "../../etc" }), Code.NOT_FOUND, "NOT_FOUND");

      // Another app registered on the same state path sees the first app's snapshots, and may not restore them.
      const otherApp = `dev.test.other${counter}`;
      const otherPkg = writePackage(join(work.path, `pkg-other-${counter}`), { "vibe.yaml": manifest(otherApp) });
      await calls.ensure({ projectId: `${p.id}-other`, appId: otherApp, packagePath: otherPkg, statePath: p.state });
      await failsWith(calls.restoreSnapshot({ projectId: `${p.id}-other`, snapshotId: saved.snapshotId }), Code.FAILED_PRECONDITION, "SNAPSHOT_MISMATCH", new RegExp(p.appId.replaceAll(".", "\\.")));

      // A corrupt chunk: the restore fails, current/ is exactly as it was and the project runs as it did.
      await calls.open(p.id);
      await calls.start(p.id);
      writeFileSync(join(p.data, "after-save"), "current content");
      const chunks = join(p.state, "snapshots", "chunks");
      const blobChunk = readdirSync(chunks, { recursive: true }).map(String).filter((n) => /[0-9a-f]{64}$/.test(n))[0] ?? "";
      const corrupt = readFileSync(join(chunks, blobChunk));
      corrupt[corrupt.length - 1] = (corrupt.at(-1) ?? 0) ^ 0xff;
      writeFileSync(join(chunks, blobChunk), corrupt);
      const beforeFailure = listTree(join(p.state, "current", "files"));
      await failsWith(calls.restoreSnapshot({ projectId: p.id, snapshotId: saved.snapshotId, createSafetySnapshot: false }), Code.INTERNAL, "RESTORE_FAILED", /corrupt|does not match/);
      assert.deepEqual(listTree(join(p.state, "current", "files")), beforeFailure);
      assert.equal(readFileSync(join(p.data, "after-save"), "utf8"), "current content");
      assert.deepEqual(readdirSync(p.state).filter((n) => n.startsWith(".")), [], "no staging left beside current/");
      const status = await calls.status(p.id);
      assert.deepEqual(status.services.map((s) => s.status), [ServiceState.SERVICE_STATE_RUNNING]);
      await calls.stop(p.id);
    });

    it("ListSnapshots: NOT_FOUND; an empty list before the first save", async () => {
      await failsWith(calls.listSnapshots({ projectId: "nope" }), Code.NOT_FOUND, "NOT_FOUND");
      const p = await project();
      assert.deepEqual((await calls.listSnapshots({ projectId: p.id })).snapshots, []);
      const overHttp = await call({ base: http, path: `/v1/projects/${p.id}/snapshots` });
      assert.equal(overHttp.status, 200);
      assert.deepEqual(overHttp.json(), { snapshots: [] });
    });

    it("DuplicateProject: NOT_FOUND, CONFLICT, INVALID_ARGUMENT and DUPLICATE_FAILED leaving nothing behind", async () => {
      const p = await project();
      fill(p.data);
      await failsWith(calls.duplicateProject({ sourceProjectId: "nope", newProjectId: "x1" }), Code.NOT_FOUND, "NOT_FOUND");
      await failsWith(calls.duplicateProject({ sourceProjectId: p.id, newProjectId: "x2", snapshotId: unknown }), Code.NOT_FOUND, "NOT_FOUND", /has no snapshot/);
      assert.ok(!existsSync(join(daemon.home, "projects", "x2")), "a failed duplicate leaves no state");
      await failsWith(calls.duplicateProject({ sourceProjectId: p.id, newProjectId: p.id }), Code.ALREADY_EXISTS, "CONFLICT", /exists already/);
      await failsWith(calls.duplicateProject({ sourceProjectId: p.id, newProjectId: "a/b" }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
      await failsWith(calls.duplicateProject({ sourceProjectId: p.id, newProjectId: "x3", statePath: "relative/path" }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
      const occupied = join(work.path, "occupied");
      mkdirSync(occupied);
      writeFileSync(join(occupied, "mine"), "not ghostd's");
      await failsWith(calls.duplicateProject({ sourceProjectId: p.id, newProjectId: "x4", statePath: occupied }), Code.INTERNAL, "DUPLICATE_FAILED", /not empty/);
      assert.deepEqual(readdirSync(occupied), ["mine"]);
      assert.deepEqual((await calls.listProjects()).projects.filter((r) => r.projectId.startsWith("x")), []);
    });
  });

  describe("DuplicateProject", () => {
    it("clones the current state and a snapshot; each clone runs beside the source with its own ports, sharing chunks by hard link", async () => {
      const p = await project();
      fill(p.data);
      const saved = await calls.saveSnapshot({ projectId: p.id });
      writeFileSync(join(p.data, "after.txt"), "only in the current state");

      const fromCurrent = await calls.duplicateProject({ sourceProjectId: p.id, newProjectId: `${p.id}-now` });
      assert.equal(fromCurrent.newProjectId, `${p.id}-now`);
      assert.equal(fromCurrent.statePath, join(daemon.home, "projects", `${p.id}-now`));
      assert.notEqual(fromCurrent.namespace, "");
      assert.deepEqual(listTree(join(fromCurrent.statePath, "current")), listTree(join(p.state, "current")));

      const elsewhere = join(work.path, `clone-of-${p.id}`);
      const fromSnapshot = await calls.duplicateProject({ sourceProjectId: p.id, newProjectId: `${p.id}-then`, snapshotId: saved.snapshotId, statePath: elsewhere });
      assert.equal(fromSnapshot.statePath, elsewhere);
      assert.ok(!existsSync(join(elsewhere, "current", "volumes", "data", "after.txt")));
      assert.equal(readFileSync(join(elsewhere, "current", "volumes", "data", "docs", "readme.txt"), "utf8"), "hello snapshots\n".repeat(1000));
      const [cloneSnapshot] = (await calls.listSnapshots({ projectId: `${p.id}-then` })).snapshots;
      assert.equal(cloneSnapshot?.stateDigest, saved.stateDigest);
      assert.equal(cloneSnapshot.labels["ghostd.duplicate.snapshot"], saved.snapshotId);

      // The clone's chunks are the source's files (one inode), not copies.
      const chunkPath = (root: string): string => {
        const name = readdirSync(join(root, "snapshots", "chunks"), { recursive: true }).map(String).find((n) => /[0-9a-f]{64}$/.test(n)) ?? "";
        return join(root, "snapshots", "chunks", name);
      };
      const shared = chunkPath(elsewhere);
      const { statSync } = await import("node:fs");
      assert.equal(statSync(shared).ino, statSync(join(p.state, "snapshots", "chunks", shared.split("/chunks/")[1] ?? "")).ino);

      const ids = [p.id, `${p.id}-now`, `${p.id}-then`];
      for (const id of ids) await calls.open(id);
      const started = await Promise.all(ids.map((id) => calls.start(id)));
      assert.ok(started.every((s) => s.services[0]?.status === ServiceState.SERVICE_STATE_RUNNING));
      await waitFor("each clone's ticker writes its own state", () => [p.state, fromCurrent.statePath, elsewhere].every((root) => existsSync(join(root, "current", "volumes", "data", "ticks"))));
      for (const id of ids) await calls.stop(id);
    });
  });

  describe("an SQLite volume (the todo example)", () => {
    it("saves a consistent copy while the app keeps writing: restored, it passes integrity_check and holds every row committed before the save", async () => {
      const id = `todo-${++counter}`;
      const state = join(work.path, `state-${id}`);
      await calls.ensure({ projectId: id, appId: "dev.ghostd.todo", packagePath: TODO, statePath: state });
      await calls.open(id);
      const started = await calls.start(id);
      const apiPort = started.ports.find((port) => port.serviceName === "api")?.hostPort ?? 0;
      const api = `http://127.0.0.1:${apiPort}`;
      await waitFor("the todo API", () => call({ base: api, path: "/health" }).then((r) => r.status === 200, () => false));
      const acked: string[] = [];
      const writing = { on: true };
      const writer = (async () => {
        for (let i = 0; writing.on; i++) {
          const reply = await call({ base: api, method: "POST", path: "/items", body: JSON.stringify({ text: `item ${i}` }) });
          assert.equal(reply.status, 201, reply.text);
          acked.push(`item ${i}`);
        }
      })();
      await waitFor("rows written before the save", () => acked.length >= 50);
      const committedBefore = [...acked];
      const saved = await calls.saveSnapshot({ projectId: id });
      const duringSave = acked.length - committedBefore.length;
      writing.on = false;
      await writer;

      const document = await new SnapshotRepository(join(state, "snapshots")).readDocument(saved.snapshotId);
      const [volume] = document.volumes;
      assert.ok(volume);
      assert.equal(volume.consistency, "sqlite");
      assert.match(String(volume.details[0]), /^todo\.db: checkpoint .*; integrity_check ok$/);
      assert.ok(!document.entries.some((e) => /-(wal|shm|journal)$/.test(e.path)), "a copied database's side files are not saved");

      await calls.restoreSnapshot({ projectId: id, snapshotId: saved.snapshotId, createSafetySnapshot: false });
      const database = join(state, "current", "volumes", "data", "todo.db");
      const db = new Database(database, { readonly: true });
      try {
        assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
        const texts = (db.prepare("SELECT text FROM items ORDER BY id").all() as { text: string }[]).map((r) => r.text);
        assert.deepEqual(texts.slice(0, committedBefore.length), committedBefore, "every row committed before the save began");
        assert.ok(texts.length <= acked.length, `${texts.length} rows restored of ${acked.length} written (${duringSave} during the save)`);
      } finally {
        db.close();
      }
      await waitFor("the API serves the restored rows", () => call({ base: api, path: "/items" }).then((r) => r.status === 200 && r.json<{ items: unknown[] }>().items.length >= committedBefore.length, () => false));
      await calls.stop(id);
    });
  });

  describe("autosave", () => {
    it("saves an autosave snapshot per window while the project runs and writes, and none once it stopped", async () => {
      const p = await project("  autosave: true\n  autosaveDebounceSeconds: 1\n");
      await calls.open(p.id);
      await calls.start(p.id);
      assert.equal((await calls.status(p.id)).autosaveEnabled, true);
      const autosaves = async (): Promise<number> => (await calls.listSnapshots({ projectId: p.id })).snapshots.filter((s) => s.reason === SnapshotReason.SNAPSHOT_REASON_AUTOSAVE).length;
      await waitFor("two autosaves of the ticking project", async () => (await autosaves()) >= 2, 20_000);
      await calls.stop(p.id);
      const afterStop = await autosaves();
      writeFileSync(join(p.data, "written-while-stopped"), "x");
      // A window is a second: three of them pass without a save once the project is stopped.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(await autosaves(), afterStop);
    });
  });

  describe("retention and garbage collection", () => {
    it("keeps state.retention.maxSnapshots, dropping unlabelled autosaves first, and sweeps their chunks", async () => {
      const p = await project("  retention: {maxSnapshots: 3}\n");
      // manual (kept), then autosaves each with new random content, smaller than the least chunk
      // so that each is exactly one (400 KiB was cut in two now and then: 5 chunks, not 3).
      const oneChunk = MIN_CHUNK - 1024;
      writeFileSync(join(p.data, "file"), randomBytes(oneChunk));
      const manual = await calls.saveSnapshot({ projectId: p.id });
      const autosaves: string[] = [];
      for (let i = 0; i < 3; i++) {
        writeFileSync(join(p.data, "file"), randomBytes(oneChunk));
        autosaves.push((await calls.saveSnapshot({ projectId: p.id, reason: SnapshotReason.SNAPSHOT_REASON_AUTOSAVE })).snapshotId);
      }
      const kept = (await calls.listSnapshots({ projectId: p.id })).snapshots.map((s) => s.snapshotId);
      assert.deepEqual(kept, [autosaves[2], autosaves[1], manual.snapshotId]);
      const chunkFiles = (): string[] => readdirSync(join(p.state, "snapshots", "chunks"), { recursive: true }).map(String).filter((n) => /[0-9a-f]{64}$/.test(n));
      assert.equal(chunkFiles().length, 3, "the pruned autosave's chunk was swept");
      // With only labelled and manual snapshots left, the oldest of them go.
      writeFileSync(join(p.data, "file"), "small");
      await calls.saveSnapshot({ projectId: p.id, labels: { keep: "yes" } });
      await calls.saveSnapshot({ projectId: p.id, labels: { keep: "too" } });
      const now = (await calls.listSnapshots({ projectId: p.id })).snapshots;
      assert.equal(now.length, 3);
      assert.ok(!now.some((s) => s.reason === SnapshotReason.SNAPSHOT_REASON_AUTOSAVE), "autosaves go before labelled snapshots");
    });
  });
});
