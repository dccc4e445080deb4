import { status as Code, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { SnapshotReason, type SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import type { SnapshotSummary } from "../../server/supervisor/snapshots/document";
import { snapshotsToPrune } from "../../server/supervisor/snapshots/retention";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { SnapshotAudit } from "../helpers/snapshot-audit";
import { fingerprintTree, pseudoRandomBytes, SeededRandom, treeDifferences, type TreeItem } from "../helpers/state-tree";
import { supervisorClient, writePackage } from "../helpers/supervisor";
import { supervisorCalls } from "../helpers/supervisor-calls";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

/*
 * kill -9 of the daemon at random moments during SaveSnapshot and during RestoreSnapshot. After
 * each kill a new daemon starts on the same home, and: current/ is the old state or the new one
 * in full, every listed snapshot verifies chunk by chunk and holds the state it was taken of, and
 * the next save works and leaves nothing behind. SNAPSHOT_CRASH_SEED replays a run's draws (the
 * states, and where in the measured span each kill falls: the span itself is measured again),
 * SNAPSHOT_CRASH_TRIALS runs more trials of each.
 */

const SEED = Number(process.env.SNAPSHOT_CRASH_SEED ?? randomInt(2 ** 31));
const TRIALS = Number(process.env.SNAPSHOT_CRASH_TRIALS ?? 30);
const ARGS = ["--port-range", "47850-47899", "--log-level", "warn", "--runtime", "process"];
/** A kill lands uniformly in [0, this × the operation's measured time] after its call is sent. */
const KILL_SPAN = 1.2;
/**
 * A restore sets modification times through Node's utimes: seconds in a double (a quarter of a
 * microsecond at today's dates), which libuv truncates to whole microseconds.
 */
const MTIME_TOLERANCE_NS = 1500n;

const MiB = 1024 * 1024;
const BIG_FILES = 4;
const BIG_BYTES = 7 * MiB;
const SMALL_DIRS = 20;
const SMALL_PER_DIR = 75;

const random = new SeededRandom(SEED);

/** Some text zstd gains on, different for each label. */
function smallContent(label: string): string {
  const size = 200 + (pseudoRandomBytes(`${SEED}:size:${label}`, 2).readUInt16BE(0) % 2600);
  return `${label}\n${pseudoRandomBytes(`${SEED}:${label}`, Math.ceil(size / 2)).toString("hex")}\n`;
}

const smallPath = (volume: string, i: number): string => join(volume, "small", `d${i % SMALL_DIRS}`, `f${i}.txt`);

/**
 * About 30 MiB: large files of random bytes (several chunks each), 1,500 small files in 20
 * directories (a chunk each), a link, a dangling link, an empty file and directory, and a nested
 * directory and files with modes of their own.
 */
function writeInitialState(volume: string, label: string): void {
  mkdirSync(join(volume, "big"));
  for (let i = 0; i < BIG_FILES; i++) writeFileSync(join(volume, "big", `${i}.bin`), pseudoRandomBytes(`${SEED}:${label}:big${i}`, BIG_BYTES));
  for (let d = 0; d < SMALL_DIRS; d++) mkdirSync(join(volume, "small", `d${d}`), { recursive: true });
  for (let i = 0; i < SMALL_DIRS * SMALL_PER_DIR; i++) writeFileSync(smallPath(volume, i), smallContent(`${label}:small${i}`));
  mkdirSync(join(volume, "nested", "a", "b", "c"), { recursive: true });
  writeFileSync(join(volume, "nested", "a", "b", "c", "secret"), "not for others\n", { mode: 0o600 });
  writeFileSync(join(volume, "nested", "run.sh"), "#!/bin/sh\necho run\n", { mode: 0o755 });
  chmodSync(join(volume, "nested", "a", "b"), 0o750);
  mkdirSync(join(volume, "empty"));
  writeFileSync(join(volume, "empty-file"), "");
  symlinkSync("big/0.bin", join(volume, "link"));
  symlinkSync("../nowhere", join(volume, "dangling"));
}

/** A new state from the last: a large file rewritten, small ones changed, removed and added, the link moved, a mode changed. */
function mutateState(volume: string, label: string): void {
  const big = random.below(BIG_FILES);
  writeFileSync(join(volume, "big", `${big}.bin`), pseudoRandomBytes(`${SEED}:${label}:big${big}`, BIG_BYTES));
  const count = SMALL_DIRS * SMALL_PER_DIR;
  for (let k = 0; k < 60; k++) {
    const i = random.below(count);
    if (existsSync(smallPath(volume, i))) writeFileSync(smallPath(volume, i), smallContent(`${label}:small${i}`));
  }
  for (let k = 0; k < 10; k++) rmSync(smallPath(volume, random.below(count)), { force: true });
  for (let k = 0; k < 10; k++) writeFileSync(join(volume, "small", `d${random.below(SMALL_DIRS)}`, `new-${label}-${k}.txt`), smallContent(`${label}:new${k}`));
  rmSync(join(volume, "link"));
  symlinkSync(`big/${random.below(BIG_FILES)}.bin`, join(volume, "link"));
  chmodSync(join(volume, "nested", "a", "b"), [0o750, 0o710, 0o700][random.below(3)]!);
}

function manifest(id: string, maxSnapshots: number): string {
  return `kind: vibe.app/v1
id: ${id}
name: Crash ${id}
version: 1.0.0
runtime: {mode: native}
state:
  volumes: [{name: data, consistency: generic}]
  retention: {maxSnapshots: ${maxSnapshots}}
services:
  - name: idle
    command: [node, -e, ""]
    mounts: [{source: "state:data", target: /data}]
`;
}

/** A project of the trials: its state on disk and what each of its snapshots must hold. */
interface Project {
  readonly id: string;
  readonly state: string;
  readonly current: string;
  readonly volume: string;
  readonly maxSnapshots: number;
  readonly audit: SnapshotAudit;
  /** The tree each snapshot was taken of, by id. */
  readonly trees: Map<string, readonly TreeItem[]>;
  /** The index as last checked, oldest first. */
  index: SnapshotSummary[];
  /** current/ as last looked at: what is unchanged since is not read again. */
  seen: TreeItem[];
}

/** current/ now. */
function look(project: Project): TreeItem[] {
  project.seen = fingerprintTree(project.current, project.seen);
  return project.seen;
}

const differences = (actual: readonly TreeItem[], expected: readonly TreeItem[]): string[] => treeDifferences(actual, expected, MTIME_TOLERANCE_NS);

/** Where the kill landed, as the state on disk showed it before the next daemon started. */
function phasesOf(project: Project): string[] {
  const names = readdirSync(project.state);
  const phases: string[] = [];
  if (existsSync(join(project.state, "snapshots", "saving"))) phases.push("a save running");
  if (names.some((n) => n.startsWith(".restore-"))) phases.push("a restore staged");
  if (!names.includes("current")) phases.push("current/ renamed aside");
  else if (names.some((n) => n.startsWith(".retired-"))) phases.push("the old tree being removed");
  return phases;
}

/**
 * The working directories under snapshots/work. A save removes its own when it ends; a killed
 * one's (a database copy per sqlite volume) is removed by the next save or restore.
 */
function workLeftovers(project: Project): number {
  const work = join(project.state, "snapshots", "work");
  return existsSync(work) ? readdirSync(work).length : 0;
}

/**
 * The indexes a killed save can leave: the one before if it did not commit; else that with its
 * snapshot `added`, or that once retention pruned it (the kill may land before or after the
 * pruning's index write).
 */
function allowedIndexes(project: Project, added: SnapshotSummary | undefined): string[] {
  if (!added) return [project.index.map((s) => s.snapshotId).join(", ")];
  const all = [...project.index, added];
  const pruned = new Set(snapshotsToPrune(all, project.maxSnapshots).map((s) => s.snapshotId));
  return [all, all.filter((s) => !pruned.has(s.snapshotId))].map((list) => list.map((s) => s.snapshotId).join(", "));
}

/** A call in flight; its answer, or its failure, once settled, and how long that took. */
class Call<T> {
  answer: T | undefined;
  failure: ServiceError | undefined;
  ms = 0;
  readonly settled: Promise<void>;

  constructor(call: Promise<T>) {
    const sent = performance.now();
    this.settled = call
      .then(
        (answer) => void (this.answer = answer),
        (err: unknown) => void (this.failure = err as ServiceError),
      )
      .finally(() => (this.ms = performance.now() - sent));
  }

  /** The answer, if the daemon gave one; a failure other than the kill's (UNAVAILABLE) is the operation's own. */
  outcome(): T | undefined {
    if (this.failure && this.failure.code !== Code.UNAVAILABLE) throw new Error(`the call failed by itself: ${this.failure.message}`);
    return this.answer;
  }
}

/** What the trials of one kind saw: how many passed, how they ended, and where their kills landed. */
class Tally {
  ok = 0;
  measuring = 0;
  private readonly outcomes = new Map<string, number>();
  private readonly phases = new Map<string, number>();

  outcome(key: string): void {
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
  }

  phase(key: string): void {
    this.phases.set(key, (this.phases.get(key) ?? 0) + 1);
  }

  describe(): string {
    const list = (counts: Map<string, number>): string => [...counts].map(([key, n]) => `${key} ${n}`).join(", ") || "none";
    return `${list(this.outcomes)}; killed with ${list(this.phases)}`;
  }
}

describe("snapshot crash trials (kill -9 during save and restore)", function () {
  // 64 daemon starts: 3 to 4 minutes on this 2-core machine, more when it is loaded.
  this.timeout(900_000);
  const work = tempDir();
  /** The daemon now running and a client of it: each restart replaces both. */
  let live: { daemon: DaemonProcess; client: SupervisorClient } | undefined;
  const running = (): { daemon: DaemonProcess; client: SupervisorClient } => {
    if (!live) throw new Error("no daemon is running");
    return live;
  };
  const calls = supervisorCalls(() => running().client);
  /** How long each call takes, measured by trials that kill only once it answered. */
  const timings = { save: 0, restore: 0 };
  const results = { save: new Tally(), restore: new Tally() };
  let saving: Project | undefined;
  let restoring: Project | undefined;
  const project = (which: Project | undefined): Project => {
    if (!which) throw new Error("the project was not made");
    return which;
  };
  /** The restore project's snapshots of states A and B, and which of them current/ holds. */
  const states: { id: string; tree: readonly TreeItem[] }[] = [];
  let currentState = 1;

  /** A daemon on the trials' one home, which each daemon after a kill takes over. */
  async function startDaemon(): Promise<void> {
    const daemon = await spawnDaemon({ args: ARGS, home: join(work.path, "home") });
    live = { daemon, client: supervisorClient(daemon.endpoints.grpc ?? "") };
  }

  /**
   * SIGKILL to the daemon `afterMs` after `call` was sent (once it answered, when undefined); then
   * a new daemon on the same home. Returns where the kill landed.
   */
  async function killAndRestart(afterMs: number | undefined, call: Call<unknown>, of: Project): Promise<string[]> {
    await (afterMs === undefined ? call.settled : sleep(afterMs));
    const { daemon, client } = running();
    await daemon.stop("SIGKILL");
    await call.settled;
    client.close();
    const phases = phasesOf(of);
    await startDaemon();
    return phases;
  }

  /** The daemon's start-up recovery has put current/ back in one piece and removed what a restore left. */
  async function recovered(of: Project): Promise<void> {
    const leftovers = (): string[] => readdirSync(of.state).filter((n) => n.startsWith(".restore-") || n.startsWith(".retired-"));
    await waitFor(`the daemon to recover ${of.state}`, () => existsSync(of.current) && leftovers().length === 0, 20_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; the state path holds ${readdirSync(of.state).join(", ")}`);
    });
  }

  /** ListSnapshots agrees with the index on disk, and every listed snapshot verifies; returns the index. */
  async function checkSnapshots(of: Project): Promise<SnapshotSummary[]> {
    const listed = (await calls.listSnapshots({ projectId: of.id })).snapshots.map((s) => s.snapshotId).reverse();
    const index = await of.audit.check(of.state, (id) => of.trees.get(id));
    assert.deepEqual(listed, index.map((s) => s.snapshotId), "ListSnapshots lists what the index holds");
    return index;
  }

  /** After the crash: at most one snapshot more (`answered`, if the call answered), and an index a crash of that save may leave. */
  async function newSnapshotAfterCrash(of: Project, tree: readonly TreeItem[], answered: string | undefined): Promise<SnapshotSummary | undefined> {
    const known = new Set(of.index.map((s) => s.snapshotId));
    const added = (await calls.listSnapshots({ projectId: of.id })).snapshots.map((s) => s.snapshotId).filter((id) => !known.has(id));
    assert.ok(added.length <= 1, `one save added ${added.length} snapshots`);
    if (answered) assert.deepEqual(added, [answered], "a snapshot whose save answered before the kill is kept");
    for (const id of added) of.trees.set(id, tree);
    const index = await checkSnapshots(of);
    const ids = index.map((s) => s.snapshotId).join(", ");
    const summary = index.find((s) => !known.has(s.snapshotId));
    const allowed = allowedIndexes(of, summary);
    assert.ok(allowed.includes(ids), `the index after the crash is [${ids}]; a crash may leave only [${allowed.join("] or [")}]`);
    of.index = index;
    return summary;
  }

  /** A save now works; afterwards the store holds exactly what the listed snapshots need, and the state path nothing else. */
  async function nextSave(of: Project, tree: readonly TreeItem[], reason: SnapshotReason, labels: Record<string, string> = {}): Promise<void> {
    const saved = await calls.saveSnapshot({ projectId: of.id, reason, labels });
    of.trees.set(saved.snapshotId, tree);
    of.index = await checkSnapshots(of);
    assert.equal(of.index.at(-1)?.snapshotId, saved.snapshotId, "the save is the newest snapshot");
    assert.deepEqual(of.audit.garbage(of.state, of.index), [], "the save swept what the crash left");
    assert.deepEqual(readdirSync(of.state).sort(), ["current", "snapshots"], "nothing else is left in the state path");
    assert.equal(workLeftovers(of), 0, "no working directory of a killed save is left");
  }

  async function newProject(name: string, maxSnapshots: number): Promise<Project> {
    const id = `crash-${name}-${process.pid}`;
    const pkg = writePackage(join(work.path, `pkg-${name}`), { "vibe.yaml": manifest(`dev.test.crash.${name}`, maxSnapshots) });
    const state = join(work.path, `state-${name}`);
    await calls.ensureProject({ projectId: id, appId: `dev.test.crash.${name}`, packagePath: pkg, statePath: state });
    const current = join(state, "current");
    const volume = join(current, "volumes", "data");
    writeInitialState(volume, `${name}:initial`);
    return { id, state, current, volume, maxSnapshots, audit: new SnapshotAudit(MTIME_TOLERANCE_NS), trees: new Map(), index: [], seen: [] };
  }

  /** Saves the project as it is; returns the snapshot's id and the tree it must hold. */
  async function save(of: Project, labels: Record<string, string>): Promise<{ id: string; tree: readonly TreeItem[] }> {
    const tree = look(of);
    const saved = await calls.saveSnapshot({ projectId: of.id, labels });
    of.trees.set(saved.snapshotId, tree);
    return { id: saved.snapshotId, tree };
  }

  before(async () => {
    console.log(`    seed ${SEED} (replay with SNAPSHOT_CRASH_SEED=${SEED}), ${TRIALS} trials each`);
    await startDaemon();
    // A retention of 4 keeps the store small, and has a save that commits prune and sweep too.
    const saves = (saving = await newProject("save", 4));
    await save(saves, { state: "initial" });
    saves.index = await checkSnapshots(saves);
    // A and B are labelled, and the saves after each trial unlabelled autosaves, which retention removes first.
    const restores = (restoring = await newProject("restore", 8));
    states.push(await save(restores, { state: "A" }));
    mutateState(restores.volume, "restore:B");
    states.push(await save(restores, { state: "B" }));
    restores.index = await checkSnapshots(restores);
  });

  after(async () => {
    const { save, restore } = results;
    const line = (kind: string, tally: Tally): string => `${kind} ${tally.ok}/${TRIALS} ok (and ${tally.measuring} measuring)`;
    console.log(`    snapshot crash trials: ${line("save", save)}, ${line("restore", restore)} (seed ${SEED}); outcomes: save: ${save.describe()} | restore: ${restore.describe()}`);
    live?.client.close();
    await live?.daemon.stop();
    work.remove();
  });

  /** A trial's checks, its failure told with its name, the seed and when the kill came. */
  async function trial(kind: "save" | "restore", name: string, context: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
      if (name.startsWith("measuring")) results[kind].measuring++;
      else results[kind].ok++;
    } catch (err) {
      const message = `${kind} trial ${name} (seed ${SEED}, replay with SNAPSHOT_CRASH_SEED=${SEED}; ${context}) failed: ${(err as Error).message}`;
      throw new Error(`${message}\nthe daemon's output: ${live?.daemon.output().slice(-4000) ?? "(none)"}`, { cause: err });
    }
  }

  const killedWhen = (killAfter: number | undefined): string => (killAfter === undefined ? "killed once the call answered" : `killed ${killAfter.toFixed(0)} ms after the call`);

  /**
   * State B_n from the last; SaveSnapshot; kill (`killAfter` ms after the call, or once it
   * answered: a measuring trial). current/ must still be B_n, at most the save's snapshot new;
   * then a save works. Returns how long the call took.
   */
  async function saveTrial(name: string, killAfter: number | undefined): Promise<number> {
    const of = project(saving);
    mutateState(of.volume, `save:${name}`);
    const tree = look(of);
    const call = new Call(calls.saveSnapshot({ projectId: of.id, labels: { trial: name } }));
    await trial("save", name, killedWhen(killAfter), async () => {
      for (const phase of await killAndRestart(killAfter, call, of)) if (killAfter !== undefined) results.save.phase(phase);
      const answer = call.outcome();
      await recovered(of);
      assert.deepEqual(differences(look(of), tree), [], "a save never changes current/");
      const added = await newSnapshotAfterCrash(of, tree, answer?.snapshotId);
      if (killAfter !== undefined) results.save.outcome(added ? (answer ? "committed and answered" : "committed, unanswered") : "not committed");
      await nextSave(of, tree, SnapshotReason.SNAPSHOT_REASON_MANUAL, { step: "after-crash" });
    });
    return call.ms;
  }

  /**
   * RestoreSnapshot of the state current/ does not hold; kill (as saveTrial). current/ must be
   * the old or the new state in full; then a save works. Returns how long the call took.
   */
  async function restoreTrial(name: string, safety: boolean, killAfter: number | undefined): Promise<number> {
    const of = project(restoring);
    const [from, to] = [states[currentState]!, states[1 - currentState]!];
    const call = new Call(calls.restoreSnapshot({ projectId: of.id, snapshotId: to.id, createSafetySnapshot: safety }));
    await trial("restore", name, `${killedWhen(killAfter)}, ${safety ? "with" : "without"} a safety snapshot`, async () => {
      for (const phase of await killAndRestart(killAfter, call, of)) if (killAfter !== undefined) results.restore.phase(phase);
      const answer = call.outcome();
      await recovered(of);
      const now = look(of);
      const [asNew, asOld] = [differences(now, to.tree), differences(now, from.tree)];
      assert.ok(asNew.length === 0 || asOld.length === 0, `current/ is neither state in full:\n  as the restored one: ${asNew.join("\n    ")}\n  as the old one: ${asOld.join("\n    ")}`);
      if (answer) assert.deepEqual(asNew, [], "a restore that answered before the kill is kept");
      const added = await newSnapshotAfterCrash(of, from.tree, answer?.safetySnapshotId);
      if (added) assert.ok(safety, "only a restore with a safety snapshot adds one");
      if (killAfter !== undefined) results.restore.outcome(`${asNew.length === 0 ? (answer ? "new state and answered" : "new state, unanswered") : "old state"}${safety ? " (safety snapshot asked)" : ""}`);
      if (asNew.length === 0) currentState = 1 - currentState;
      await nextSave(of, asNew.length === 0 ? to.tree : from.tree, SnapshotReason.SNAPSHOT_REASON_AUTOSAVE);
      assert.ok([from.id, to.id].every((id) => of.index.some((s) => s.snapshotId === id)), "A and B are still listed");
    });
    return call.ms;
  }


  /**
   * A measuring trial (its kill comes once the call answered) on a daemon just started with
   * nothing else done: a call takes longest so, with the worker threads not yet started, and so
   * most trials find their daemon (the save after a kill reads nothing when the state is as
   * saved). The longer of two sets the span of the kills: one sample on a shared machine may
   * come out short, and a span too short never reaches an operation's last steps.
   */
  async function coldly(of: Project | undefined, measure: () => Promise<number>): Promise<number> {
    const { daemon, client } = running();
    await daemon.stop("SIGKILL");
    client.close();
    await startDaemon();
    await recovered(project(of));
    return measure();
  }

  it(`keeps current/ and every snapshot whole when the daemon is killed during SaveSnapshot (${TRIALS} trials)`, async () => {
    timings.save = Math.max(await coldly(saving, () => saveTrial("measuring 1", undefined)), await coldly(saving, () => saveTrial("measuring 2", undefined)));
    console.log(`      a save takes ${timings.save.toFixed(0)} ms`);
    for (let n = 1; n <= TRIALS; n++) await saveTrial(String(n), random.next() * KILL_SPAN * timings.save);
    assert.equal(results.save.ok, TRIALS);
  });

  it("restores every snapshot the save trials left listed to the state it was taken of", async () => {
    const of = project(saving);
    const listed = (await calls.listSnapshots({ projectId: of.id })).snapshots;
    assert.ok(listed.length >= 2, `the save project lists ${listed.length} snapshots`);
    for (const { snapshotId } of listed) {
      await calls.restoreSnapshot({ projectId: of.id, snapshotId, createSafetySnapshot: false });
      assert.deepEqual(differences(look(of), of.trees.get(snapshotId) ?? []), [], `current/ after restoring ${snapshotId}`);
    }
  });

  it(`leaves current/ the old state or the new one in full when the daemon is killed during RestoreSnapshot (${TRIALS} trials)`, async () => {
    // A safety snapshot adds little: the save after the last trial has the state's inodes, so the safety save reads nothing again.
    timings.restore = Math.max(await coldly(restoring, () => restoreTrial("measuring 1", false, undefined)), await coldly(restoring, () => restoreTrial("measuring 2", true, undefined)));
    console.log(`      a restore takes ${timings.restore.toFixed(0)} ms`);
    for (let n = 1; n <= TRIALS; n++) {
      const safety = random.below(2) === 1;
      await restoreTrial(String(n), safety, random.next() * KILL_SPAN * timings.restore);
    }
    assert.equal(results.restore.ok, TRIALS);
  });
});
