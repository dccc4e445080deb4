import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Autosaver } from "../../../server/supervisor/snapshots/autosaver";
import { ChangeWatch } from "../../../server/supervisor/snapshots/change-watch";
import { walkTreeSync } from "../../../server/supervisor/snapshots/tree";
import { ManualClock } from "../../helpers/manual-clock";
import { tempDir } from "../../helpers/tmp";
import { waitFor } from "../../helpers/wait";

/** The walk scans use, here on the test's own thread: the daemon gives them a chunk thread's. */
const walk = (dir: string) => Promise.resolve(walkTreeSync(dir));

describe("autosave: one save per debounce window, none without a change", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
    mkdirSync(join(dir.path, "volumes", "data"), { recursive: true });
  });
  afterEach(() => dir.remove());

  it("opens a window at the first change, saves once at its end, and saves nothing while nothing changes", async () => {
    const clock = new ManualClock();
    const saves: number[] = [];
    const saver = new Autosaver({ current: dir.path, debounceMs: 30_000, clock, save: () => Promise.resolve(saves.push(clock.now())), failed: (err) => assert.fail(String(err)), walk });
    await clock.advance(120_000);
    assert.deepEqual(saves, [], "no change, no save");
    for (let i = 0; i < 5; i++) writeFileSync(join(dir.path, "volumes", "data", `file${i}`), "x");
    await waitFor("the window opened by the first change", () => clock.pending().length === 1 && clock.pending()[0] === 30_000);
    await clock.advance(29_999);
    assert.deepEqual(saves, []);
    await clock.advance(1);
    assert.equal(saves.length, 1, "five changes in one window, one save");
    await clock.advance(120_000);
    assert.equal(saves.length, 1);
    writeFileSync(join(dir.path, "volumes", "data", "file0"), "changed again");
    await waitFor("the next window", () => clock.pending().length === 1);
    await clock.advance(30_000);
    assert.equal(saves.length, 2);
    await saver.close();
    writeFileSync(join(dir.path, "later"), "after close");
    await clock.advance(120_000);
    assert.equal(saves.length, 2, "closed: no more saves");
  });

  it("falls back to scanning when it cannot watch, and tells a change from the scan", async () => {
    const clock = new ManualClock();
    let changes = 0;
    const missing = join(dir.path, "not-yet");
    const watch = new ChangeWatch(missing, () => changes++, clock, 5_000, walk);
    watch.start();
    assert.equal(watch.watching, false, "a directory that does not exist cannot be watched");
    mkdirSync(missing);
    await waitFor("the first scan is scheduled", () => clock.pending().length === 1);
    await clock.advance(5_000);
    await waitFor("the next scan is scheduled", () => clock.pending().length === 1);
    assert.equal(changes, 0, "the first complete scan is the baseline");
    writeFileSync(join(missing, "new"), "x");
    await clock.advance(5_000);
    await waitFor("a scan saw the new file", () => changes === 1);
    watch.close();
  });
});
