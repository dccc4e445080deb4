import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { ghostctl, ghostctlOnTerminal, type GhostctlRun } from "../helpers/ghostctl";
import { composeManifest, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";

const PORT_RANGE = "47700-47749";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNKNOWN_SNAPSHOT = "00000000-0000-4000-8000-000000000000";

/**
 * One service that ignores SIGTERM, so stopping it for a restore takes its whole grace period:
 * long enough for a terminal to see the bar whatever the machine's speed.
 */
const SLOW_TO_STOP = `services:
  app:
    command: [sh, -c, 'trap "" TERM; while :; do sleep 0.1; done']
    stop_grace_period: 1s
    volumes: [data:/data]
volumes:
  data:
`;

/** The JSON a successful run printed, after checking that it succeeded and drew nothing. */
function json<T>(run: GhostctlRun): T {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "", "no bar and no escape on a stderr that is no terminal");
  return JSON.parse(run.stdout) as T;
}

interface Listed {
  snapshots: { snapshot_id: string; reason: string; labels?: Record<string, string>; size_bytes: number; parent_snapshot_id?: string }[];
}

describe("ghostctl snapshot save, list, restore and duplicate (a real daemon)", function () {
  // ghostctl starts in a second or two on a busy machine, and each test runs it a handful of times.
  this.timeout(120_000);
  let daemon: DaemonProcess;
  let work: ReturnType<typeof tempDir>;
  let counter = 0;
  const run = (...args: string[]): Promise<GhostctlRun> => ghostctl(args, { home: daemon.home });

  before(async () => {
    work = tempDir();
    daemon = await spawnDaemon({ args: ["--port-range", PORT_RANGE, "--log-level", "warn", "--runtime", "process"] });
  });

  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  /** A project registered with ghostctl, its state volume `data` holding a text file and a nested binary one. */
  async function project(): Promise<{ id: string; state: string; data: string }> {
    const id = `cli-snap${++counter}`;
    const pkg = writePackage(join(work.path, `pkg-${id}`), { "vibe.yaml": composeManifest(`dev.test.clisnap${counter}`, ["data"]), "compose.yaml": SLOW_TO_STOP });
    const state = join(work.path, `state-${id}`);
    json(await run("ensure", id, pkg, "--state", state));
    const data = join(state, "current", "volumes", "data");
    mkdirSync(join(data, "nested"), { recursive: true });
    writeFileSync(join(data, "notes.txt"), "first version\n");
    writeFileSync(join(data, "nested", "blob.bin"), Buffer.alloc(300_000, 7));
    return { id, state, data };
  }

  it("save prints the new snapshot; list shows every one, newest first, with its reason and labels", async () => {
    const p = await project();
    const saved = json<{ snapshot_id: string; state_digest: string; size_bytes: number; added_bytes: number; timestamp: string }>(await run("snapshot", "save", p.id, "--label", "purpose=test", "--label", "query=a=b"));
    assert.match(saved.snapshot_id, UUID);
    assert.match(saved.state_digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(saved.size_bytes, "first version\n".length + 300_000);
    assert.ok(saved.added_bytes > 0);

    const again = json<{ snapshot_id: string }>(await run("snapshot", "save", p.id, "--reason", "before-upgrade"));
    const { snapshots } = json<Listed>(await run("snapshot", "list", p.id));
    assert.deepEqual(
      snapshots.map((s) => [s.snapshot_id, s.reason, s.labels ?? {}]),
      [
        [again.snapshot_id, "before-upgrade", {}],
        [saved.snapshot_id, "manual", { purpose: "test", query: "a=b" }],
      ],
    );
    assert.equal(snapshots[0]?.parent_snapshot_id, saved.snapshot_id);
  });

  it("restore puts the files back and names the restored and the safety snapshot; --no-safety-snapshot takes none", async () => {
    const p = await project();
    const saved = json<{ snapshot_id: string }>(await run("snapshot", "save", p.id));
    writeFileSync(join(p.data, "notes.txt"), "second version\n");
    rmSync(join(p.data, "nested"), { recursive: true });

    const restored = json<{ project_id: string; restored_snapshot_id: string; safety_snapshot_id?: string }>(await run("snapshot", "restore", p.id, saved.snapshot_id));
    assert.equal(restored.project_id, p.id);
    assert.equal(restored.restored_snapshot_id, saved.snapshot_id);
    assert.match(restored.safety_snapshot_id ?? "", UUID);
    assert.equal(readFileSync(join(p.data, "notes.txt"), "utf8"), "first version\n");
    assert.equal(readFileSync(join(p.data, "nested", "blob.bin")).length, 300_000);
    const afterSafety = json<Listed>(await run("snapshot", "list", p.id)).snapshots;
    assert.deepEqual(
      afterSafety.map((s) => [s.snapshot_id, s.reason]),
      [
        [restored.safety_snapshot_id, "before-restore"],
        [saved.snapshot_id, "manual"],
      ],
    );

    writeFileSync(join(p.data, "notes.txt"), "third version\n");
    const bare = json<Record<string, unknown>>(await run("snapshot", "restore", p.id, saved.snapshot_id, "--no-safety-snapshot"));
    assert.equal(bare.restored_snapshot_id, saved.snapshot_id);
    assert.equal("safety_snapshot_id" in bare, false, JSON.stringify(bare));
    assert.equal(json<Listed>(await run("snapshot", "list", p.id)).snapshots.length, 2, "no snapshot was added");
    assert.equal(readFileSync(join(p.data, "notes.txt"), "utf8"), "first version\n");
  });

  it("duplicate registers a new project with the state, current or of a snapshot, where --state-path says", async () => {
    const p = await project();
    const saved = json<{ snapshot_id: string }>(await run("snapshot", "save", p.id));
    writeFileSync(join(p.data, "notes.txt"), "changed after the save\n");

    const current = json<{ new_project_id: string; namespace: string; state_path: string }>(await run("duplicate", p.id, `${p.id}-now`));
    assert.equal(current.new_project_id, `${p.id}-now`);
    assert.match(current.namespace, /^ghostd-/);
    assert.equal(current.state_path, join(daemon.home, "projects", `${p.id}-now`));
    assert.equal(readFileSync(join(current.state_path, "current", "volumes", "data", "notes.txt"), "utf8"), "changed after the save\n");

    const there = join(work.path, `copy-of-${p.id}`);
    const old = json<{ new_project_id: string; state_path: string }>(await run("duplicate", p.id, `${p.id}-then`, "--snapshot", saved.snapshot_id, "--state-path", there));
    assert.equal(old.state_path, there);
    assert.equal(readFileSync(join(there, "current", "volumes", "data", "notes.txt"), "utf8"), "first version\n");
    const status = json<{ project_id: string; status: string }>(await run("status", `${p.id}-then`));
    assert.deepEqual([status.project_id, status.status], [`${p.id}-then`, "registered"]);
  });

  it("refuses a reason or a label it cannot send, saying which and why, with exit code 1 and nothing saved", async () => {
    const p = await project();
    const cases: [string[], RegExp][] = [
      [["--reason", "whenever"], /^error: option '--reason <reason>' argument 'whenever' is invalid\. Allowed choices are manual, autosave, before-upgrade, before-restore\.\n$/],
      [["--label", "novalue"], /^error: option '--label <key=value>' argument 'novalue' is invalid\. a label is key=value, with a key before the =\n$/],
      [["--label", "=v"], /argument '=v' is invalid\. a label is key=value/],
      [["--label", "k=1", "--label", "k=2"], /argument 'k=2' is invalid\. label k is given twice\n$/],
      // What only the daemon checks comes back as its INVALID_ARGUMENT.
      [["--label", "bad key=v"], /^ghostctl: label "bad key": a key is .* \(INVALID_ARGUMENT\)\n$/],
    ];
    for (const [args, message] of cases) {
      const refused = await run("snapshot", "save", p.id, ...args);
      assert.equal(refused.code, 1, args.join(" "));
      assert.match(refused.stderr, message);
      assert.equal(refused.stdout, "");
    }
    assert.deepEqual(json<Listed>(await run("snapshot", "list", p.id)).snapshots, []);
  });

  it("says NOT_FOUND for a project or snapshot there is not", async () => {
    const p = await project();
    const expected: [string[], string][] = [
      [["snapshot", "save", "nosuch"], "no project nosuch (NOT_FOUND)"],
      [["snapshot", "list", "nosuch"], "no project nosuch (NOT_FOUND)"],
      [["snapshot", "restore", "nosuch", UNKNOWN_SNAPSHOT], "no project nosuch (NOT_FOUND)"],
      [["snapshot", "restore", p.id, UNKNOWN_SNAPSHOT], `project ${p.id} has no snapshot ${UNKNOWN_SNAPSHOT} (NOT_FOUND)`],
      [["duplicate", "nosuch", "newer"], "no project nosuch (NOT_FOUND)"],
      [["duplicate", p.id, `${p.id}-x`, "--snapshot", UNKNOWN_SNAPSHOT], `project ${p.id} has no snapshot ${UNKNOWN_SNAPSHOT} (NOT_FOUND)`],
    ];
    for (const [args, message] of expected) {
      const failed = await run(...args);
      assert.deepEqual([failed.code, failed.stderr, failed.stdout], [1, `ghostctl: ${message}\n`, ""], args.join(" "));
    }
  });

  it("on a terminal, draws the restore's progress on one line and clears it before the answer; --no-progress draws nothing", async () => {
    const p = await project();
    const saved = json<{ snapshot_id: string }>(await run("snapshot", "save", p.id));
    json(await run("open", p.id, "--no-progress"));
    json(await run("start", p.id));

    const shown = await ghostctlOnTerminal(["--home", daemon.home, "snapshot", "restore", p.id, saved.snapshot_id]);
    assert.equal(shown.code, 0, shown.output);
    const output = JSON.stringify(shown.output);
    // The service takes its 1 s grace to stop, so the bar is drawn (after 300 ms) while the restore prepares.
    assert.ok(shown.output.includes("\r\x1b[2Krestore preparing"), output);
    assert.ok(shown.output.includes(`\r\x1b[2K[${"#".repeat(20)}] 100% restore transferring  2/2 files, 0.3/0.3 MiB`), output);
    // The line is cleared, and the answer printed on a clean line, alone.
    const cleared = shown.output.lastIndexOf("\r\x1b[2K");
    assert.ok(cleared >= 0, output);
    const answer = JSON.parse(shown.output.slice(cleared + "\r\x1b[2K".length)) as { restored_snapshot_id: string; services: { status: string }[] };
    assert.equal(answer.restored_snapshot_id, saved.snapshot_id);
    assert.deepEqual(
      answer.services.map((s) => s.status),
      ["running"],
    );

    const quiet = await ghostctlOnTerminal(["--home", daemon.home, "snapshot", "restore", p.id, saved.snapshot_id, "--no-progress", "--no-safety-snapshot"]);
    assert.equal(quiet.code, 0, quiet.output);
    assert.equal(quiet.output.includes("\x1b"), false, JSON.stringify(quiet.output));
    assert.equal((JSON.parse(quiet.output) as { restored_snapshot_id: string }).restored_snapshot_id, saved.snapshot_id);
    json(await run("stop", p.id, "--timeout", "1"));
  });
});
