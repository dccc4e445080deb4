import assert from "node:assert/strict";
import { appendFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Known } from "../../../server/agent/fs-watch/entry-state";
import { classify, type Observation } from "../../../server/agent/fs-watch/event-classifier";
import { watchDirectory, Watchers, type WatchEvent } from "../../../server/agent/fs-watch";
import { WatchQueue } from "../../../server/agent/fs-watch/queue";
import { TreeWatch } from "../../../server/agent/fs-watch/tree-watch";
import { Code, DomainError } from "../../../server/errors";
import { tempDir } from "../../helpers/tmp";
import { waitFor } from "../../helpers/wait";

const line = (e: WatchEvent): string => `${e.type} ${e.name}`;

/** Reads a stream in the background: what arrived so far, and how it ended. */
function collect(stream: AsyncIterable<WatchEvent>): { events: WatchEvent[]; ended: Promise<unknown> } {
  const events: WatchEvent[] = [];
  const ended = (async () => {
    for await (const event of stream) events.push(event);
  })().then(
    () => "done",
    (err: unknown) => err,
  );
  return { events, ended };
}

/**
 * Runs a scripted sequence: each step acts, then waits until the events after the previous step's
 * are exactly what it expects, so the order is the file system's and a stray event fails the step.
 */
async function script(events: () => readonly WatchEvent[], steps: readonly (readonly [() => void, readonly string[]])[]): Promise<void> {
  let from = events().length;
  for (const [act, expected] of steps) {
    act();
    const start = from;
    await waitFor(`${expected.join(", ")} (after ${events().slice(0, start).map(line).join(", ")})`, () => events().length >= start + expected.length);
    assert.deepEqual(events().slice(start).map(line), expected);
    from = start + expected.length;
  }
}

function reasonOf(err: unknown): [string, Code] | string {
  return err instanceof DomainError ? [err.reason, err.code] : String(err);
}

const fdCount = (): number => readdirSync("/proc/self/fd").length;

/** The inotify watches this process holds, from /proc/self/fdinfo of its inotify fds. */
function inotifyWatches(): number {
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    const info = (() => {
      try {
        return readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
      } catch {
        return "";
      }
    })();
    count += info.split("\n").filter((l) => l.startsWith("inotify wd:")).length;
  }
  return count;
}

/** Create, write, rename (old, then new), chmod, remove; a sentinel last catches stray events. */
function basicSteps(dir: string): (readonly [() => void, readonly string[]])[] {
  return [
    [() => writeFileSync(join(dir, "a"), ""), ["create a"]],
    [() => appendFileSync(join(dir, "a"), "hello"), ["write a"]],
    [() => renameSync(join(dir, "a"), join(dir, "b")), ["rename a", "create b"]],
    [() => chmodSync(join(dir, "b"), 0o600), ["chmod b"]],
    [() => unlinkSync(join(dir, "b")), ["remove b"]],
    [() => writeFileSync(join(dir, "end"), "x"), ["create end", "write end"]],
  ];
}

describe("agent directory watches", () => {
  let tmp: ReturnType<typeof tempDir>;
  let controller: AbortController;

  beforeEach(() => {
    tmp = tempDir("ghostd-watch-");
    controller = new AbortController();
  });
  afterEach(() => {
    controller.abort();
    tmp.remove();
  });

  const watch = async (recursive: boolean): Promise<ReturnType<typeof collect>> => collect(await watchDirectory(tmp.path, { recursive }, "/", controller.signal));

  it("reports create, write, rename (old then new), chmod and remove, in order", async () => {
    const seen = await watch(false);
    await script(() => seen.events, basicSteps(tmp.path));
    assert.deepEqual(seen.events[0], { type: "create", name: "a", path: join(tmp.path, "a") });
  });

  it("refuses a missing path or a file before anything is iterated", async () => {
    writeFileSync(join(tmp.path, "file"), "");
    const refused = (path: string) => watchDirectory(path, { recursive: false }, tmp.path, controller.signal).then(() => "watching", reasonOf);
    assert.deepEqual(await refused("missing"), ["path_not_found", Code.NOT_FOUND]);
    assert.deepEqual(await refused("file"), ["not_a_directory", Code.FAILED_PRECONDITION]);
  });

  it("recursive: sees into existing, new and renamed subdirectories, each new entry once", async () => {
    mkdirSync(join(tmp.path, "old"));
    const seen = await watch(true);
    const at = (name: string): string => join(tmp.path, name);
    await script(() => seen.events, [
      [() => writeFileSync(at("old/f"), ""), ["create old/f"]],
      [() => mkdirSync(at("new")), ["create new"]],
      [() => writeFileSync(at("new/g"), "x"), ["create new/g", "write new/g"]],
      [() => renameSync(at("new"), at("moved")), ["rename new", "create moved"]],
      [() => appendFileSync(at("moved/g"), "y"), ["write moved/g"]],
      [() => rmSync(at("moved"), { recursive: true }), ["remove moved/g", "remove moved"]],
    ]);
    // A tree made faster than watches can be added: its entries are found when the new directory is.
    mkdirSync(at("fast/deep"), { recursive: true });
    writeFileSync(at("fast/deep/h"), "z");
    writeFileSync(at("end"), "");
    await waitFor("the end marker", () => seen.events.some((e) => e.name === "end"));
    assert.deepEqual(seen.events.map(line).filter((l) => l.includes("fast")), ["create fast", "create fast/deep", "create fast/deep/h", "write fast/deep/h"]);
    const creates = seen.events.filter((e) => e.type === "create").map((e) => e.name);
    assert.equal(new Set(creates).size, creates.length, `one create per entry: ${creates.join(", ")}`);
  });

  it("recursive: a tree moved in from outside is created entry by entry, its old files not written", async () => {
    const outside = tempDir("ghostd-outside-");
    try {
      mkdirSync(join(outside.path, "tree/inner"), { recursive: true });
      writeFileSync(join(outside.path, "tree/inner/x"), "old");
      // Written an hour ago: within one tick of the kernel's coarse clock, old and new cannot be told apart.
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(join(outside.path, "tree/inner/x"), hourAgo, hourAgo);
      const seen = await watch(true);
      await script(() => seen.events, [[() => renameSync(join(outside.path, "tree"), join(tmp.path, "tree")), ["create tree", "create tree/inner", "create tree/inner/x"]]]);
    } finally {
      outside.remove();
    }
  });

  it("non-recursive: a subdirectory's entries are not reported", async () => {
    mkdirSync(join(tmp.path, "sub"));
    const seen = await watch(false);
    writeFileSync(join(tmp.path, "sub/f"), "x");
    writeFileSync(join(tmp.path, "end"), "");
    await waitFor("the end marker", () => seen.events.some((e) => e.name === "end"));
    assert.deepEqual(seen.events.map(line), ["create end"]);
  });

  it("ends with path_not_found when the watched directory itself is removed", async () => {
    writeFileSync(join(tmp.path, "f"), "");
    const seen = await watch(true);
    rmSync(tmp.path, { recursive: true });
    assert.deepEqual(reasonOf(await seen.ended), ["path_not_found", Code.NOT_FOUND]);
    assert.deepEqual(seen.events.map(line), ["remove f"]);
  });

  it("fails a watch of a tree past its bound", async () => {
    for (const name of ["a", "b", "c"]) writeFileSync(join(tmp.path, name), "");
    const sink = { events: () => true, fail: () => undefined };
    await assert.rejects(TreeWatch.start(tmp.path, false, sink, 2), (err: unknown) => reasonOf(err)[0] === "too_many_entries");
    (await TreeWatch.start(tmp.path, false, sink, 3)).close();
  });

  it("closes its inotify watches when the signal aborts: the process's fds and watches return to their baseline", async () => {
    // libuv opens one inotify fd on the first watch and keeps it for the process: warm it up first.
    const warm = new AbortController();
    await watchDirectory(tmp.path, { recursive: false }, "/", warm.signal);
    warm.abort();
    const [fds, watches] = [fdCount(), inotifyWatches()];
    for (const sub of ["x/y", "z"]) mkdirSync(join(tmp.path, sub), { recursive: true });
    const seen = await watch(true);
    assert.equal(inotifyWatches(), watches + 4, "one inotify watch per directory: the root, x, x/y and z");
    controller.abort();
    assert.equal(await seen.ended, "done", "an aborted stream ends quietly");
    await waitFor("the fds and watches back at their baseline", () => fdCount() === fds && inotifyWatches() === watches);
  });

  describe("polled watchers", () => {
    let watchers: Watchers;
    beforeEach(() => (watchers = new Watchers()));
    afterEach(() => watchers.close());

    it("queue the same events until taken", async () => {
      const id = await watchers.create(tmp.path, { recursive: false }, "/");
      const taken: WatchEvent[] = [];
      await script(() => {
        taken.push(...watchers.take(id));
        return taken;
      }, basicSteps(tmp.path));
      assert.deepEqual(watchers.take(id), [], "nothing more since the last take");
    });

    it("answer NOT_FOUND for an id they do not hold, or one removed", async () => {
      assert.deepEqual(reasonOf(catching(() => watchers.take("nope"))), ["watcher_not_found", Code.NOT_FOUND]);
      assert.deepEqual(reasonOf(catching(() => watchers.remove("nope"))), ["watcher_not_found", Code.NOT_FOUND]);
      const id = await watchers.create(tmp.path, { recursive: true }, "/");
      watchers.remove(id);
      assert.deepEqual(reasonOf(catching(() => watchers.take(id))), ["watcher_not_found", Code.NOT_FOUND]);
    });

    it("stop a watcher whose reader fell past the queue's bound, and say so", async () => {
      const small = new Watchers(10, 3);
      try {
        const id = await small.create(tmp.path, { recursive: false }, "/");
        // One write call per file, all in one turn: one inotify read, one batch of 20 events.
        for (let i = 0; i < 10; i++) writeFileSync(join(tmp.path, `f${i}`), "x");
        const err = await waitFor("the overflow", () => catching(() => small.take(id)));
        assert.deepEqual(reasonOf(err), ["reader_too_slow", Code.RESOURCE_EXHAUSTED]);
        assert.deepEqual(reasonOf(catching(() => small.take(id))), ["reader_too_slow", Code.RESOURCE_EXHAUSTED], "until removed");
      } finally {
        small.close();
      }
    });

    it("refuse more watchers than their bound", async () => {
      const two = new Watchers(2);
      try {
        await two.create(tmp.path, { recursive: false }, "/");
        await two.create(tmp.path, { recursive: false }, "/");
        await assert.rejects(two.create(tmp.path, { recursive: false }, "/"), (err: unknown) => reasonOf(err)[0] === "watch_limit");
      } finally {
        two.close();
      }
    });
  });

  describe("the event queue", () => {
    it("hands events over in order, then its error; past its bound it drops them and fails", () => {
      const event = (name: string): WatchEvent => ({ type: "create", name, path: `/w/${name}` });
      const queue = new WatchQueue(3, "a test watch");
      assert.equal(queue.events([event("a"), event("b")]), true);
      assert.deepEqual(queue.take().map((e) => e.name), ["a", "b"]);
      queue.events([event("c")]);
      queue.fail(new Error("stopped"));
      assert.deepEqual(queue.take().map((e) => e.name), ["c"], "the events before the error first");
      assert.throws(() => queue.take(), /stopped/);
      const full = new WatchQueue(3, "a test watch");
      full.events([event("a"), event("b")]);
      assert.equal(full.events([event("c"), event("d")]), false, "the watch is told to stop");
      assert.deepEqual(reasonOf(catching(() => full.take())), ["reader_too_slow", Code.RESOURCE_EXHAUSTED]);
    });
  });

  describe("the classifier", () => {
    const entry = (ino: number, more: Partial<Known> = {}): Known => ({ type: "file", dev: 1n, ino: BigInt(ino), mode: 0o644, uid: 0, gid: 0, size: 0n, mtimeNs: 1n, ctimeNs: 1n, ...more });
    const changes = (observations: Observation[]): string[] => classify(observations).map((c) => `${c.type} ${c.path}`);

    it("pairs a rename by inode, old path first even when the new one was named first", () => {
      assert.deepEqual(changes([{ path: "b", before: undefined, after: entry(7, { size: 3n }) }, { path: "a", before: entry(7, { size: 3n }), after: undefined }]), ["rename a", "create b"]);
    });

    it("reports a path replaced by a new file as remove and create (and write), and one renamed over as create only", () => {
      assert.deepEqual(changes([{ path: "f", before: entry(1), after: entry(2, { size: 1n }) }]), ["remove f", "create f", "write f"]);
      assert.deepEqual(changes([{ path: "tmp", before: entry(3), after: undefined }, { path: "f", before: entry(1), after: entry(3) }]), ["rename tmp", "create f"]);
    });

    it("reports a new file with content moved in from outside, or hard-linked, as a create without a write", () => {
      assert.deepEqual(changes([{ path: "in", before: undefined, after: entry(4, { size: 5n, mtimeNs: 1n, ctimeNs: 9n }) }]), ["create in"]);
      assert.deepEqual(changes([{ path: "new", before: undefined, after: entry(4, { size: 5n, mtimeNs: 9n, ctimeNs: 9n }) }]), ["create new", "write new"]);
    });

    it("tells a write from a chmod, and an attribute-only change from nothing", () => {
      assert.deepEqual(changes([{ path: "f", before: entry(1), after: entry(1, { size: 4n, mtimeNs: 2n, ctimeNs: 2n }) }]), ["write f"]);
      assert.deepEqual(changes([{ path: "f", before: entry(1), after: entry(1, { mode: 0o600, ctimeNs: 2n }) }]), ["chmod f"]);
      assert.deepEqual(changes([{ path: "f", before: entry(1), after: entry(1, { ctimeNs: 2n }) }]), ["chmod f"], "a chmod to the same mode, a new hard link");
      assert.deepEqual(changes([{ path: "f", before: entry(1), after: entry(1) }]), [], "already accounted for");
      const dir = (more: Partial<Known>): Known => entry(5, { type: "directory", ...more });
      assert.deepEqual(changes([{ path: "d", before: dir({}), after: dir({ size: 9n, mtimeNs: 3n, ctimeNs: 3n }) }]), [], "a directory's entries changing is theirs to report");
    });
  });
});

function catching(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}
