import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { followSnapshotProgress, renderProgress, SnapshotProgressDisplay } from "../../cli/snapshot-progress";
import { SnapshotOperation, SnapshotPhase, type WatchSnapshotProgressResponse } from "../../generated/ghostd/supervisor/v1/progress";
import { waitFor } from "../helpers/wait";

const MIB = 1024 * 1024;

function message(operation: SnapshotOperation, phase: SnapshotPhase, counts: Partial<WatchSnapshotProgressResponse> = {}): WatchSnapshotProgressResponse {
  return { operation, phase, snapshotId: "", filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, message: "", ...counts };
}

const { SNAPSHOT_OPERATION_UNSPECIFIED: NONE, SNAPSHOT_OPERATION_SAVE: SAVE, SNAPSHOT_OPERATION_RESTORE: RESTORE } = SnapshotOperation;
const { SNAPSHOT_PHASE_UNSPECIFIED: IDLE, SNAPSHOT_PHASE_PREPARING: PREPARING, SNAPSHOT_PHASE_TRANSFERRING: TRANSFERRING, SNAPSHOT_PHASE_DONE: DONE, SNAPSHOT_PHASE_FAILED: FAILED } = SnapshotPhase;

function terminal(columns = 100): { written: string[]; write(text: string): void; columns(): number } {
  const written: string[] = [];
  return { written, write: (text) => written.push(text), columns: () => columns };
}

/** A server stream that sends what the test says. */
class FakeStream extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
}

describe("ghostctl snapshot: the progress line", () => {
  it("draws a bar by bytes, with the operation, its phase, files and MiB", () => {
    const line = renderProgress(message(SAVE, TRANSFERRING, { filesDone: 12, filesTotal: 30, bytesDone: 13.5 * MIB, bytesTotal: 30 * MIB }), 120);
    assert.equal(line, "[#########-----------]  45% save transferring  12/30 files, 13.5/30.0 MiB");
  });

  it("goes by files when there are files but no bytes (all of them empty)", () => {
    assert.equal(renderProgress(message(RESTORE, TRANSFERRING, { filesDone: 1, filesTotal: 4 }), 120), "[#####---------------]  25% restore transferring  1/4 files, 0.0/0.0 MiB");
  });

  it("names a phase that counts nothing, and a failure with its message", () => {
    assert.equal(renderProgress(message(RESTORE, PREPARING), 120), "restore preparing");
    assert.equal(renderProgress(message(SAVE, FAILED, { message: "app.db: database disk image is malformed" }), 120), "save failed: app.db: database disk image is malformed");
  });

  it("draws nothing while nothing runs (the watch's first message when idle)", () => {
    assert.equal(renderProgress(message(NONE, IDLE), 120), undefined);
  });

  it("cuts the line to the terminal's width less one, so it never wraps", () => {
    const line = renderProgress(message(SAVE, FAILED, { message: "x".repeat(300) }), 40) ?? "";
    assert.equal(line.length, 39);
    assert.ok(line.endsWith("…"));
  });
});

describe("ghostctl snapshot: the line on a terminal", () => {
  it("draws nothing before show(), so an operation that ends at once prints only its answer", () => {
    const tty = terminal();
    const display = new SnapshotProgressDisplay(tty);
    display.take(message(SAVE, PREPARING));
    display.take(message(SAVE, DONE));
    display.end();
    display.show();
    assert.deepEqual(tty.written, []);
  });

  it("after show(), draws the latest message, each change over the last, skips repeats, and clears the line at the end", () => {
    const tty = terminal();
    const display = new SnapshotProgressDisplay(tty);
    display.take(message(NONE, IDLE));
    display.take(message(SAVE, PREPARING));
    display.show();
    display.take(message(SAVE, TRANSFERRING, { filesDone: 1, filesTotal: 2, bytesDone: MIB, bytesTotal: 2 * MIB }));
    display.take(message(SAVE, TRANSFERRING, { filesDone: 1, filesTotal: 2, bytesDone: MIB, bytesTotal: 2 * MIB }));
    display.end();
    display.take(message(SAVE, DONE));
    assert.deepEqual(tty.written, ["\r\x1b[2Ksave preparing", "\r\x1b[2K[##########----------]  50% save transferring  1/2 files, 1.0/2.0 MiB", "\r\x1b[2K"]);
  });

  it("clears the line when the project goes idle again", () => {
    const tty = terminal();
    const display = new SnapshotProgressDisplay(tty);
    display.show();
    display.take(message(RESTORE, PREPARING));
    display.take(message(NONE, IDLE));
    display.end();
    assert.deepEqual(tty.written, ["\r\x1b[2Krestore preparing", "\r\x1b[2K"]);
  });
});

describe("ghostctl snapshot: following the watch", () => {
  it("is in place only once the first message came, then draws after the delay, and stops by cancelling", async () => {
    const stream = new FakeStream();
    const tty = terminal();
    let ready = false;
    const following = followSnapshotProgress(stream, tty, 0).then((watch) => {
      ready = true;
      return watch;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ready, false, "not in place before the first message");
    stream.emit("data", message(NONE, IDLE));
    const watch = await following;
    stream.emit("data", message(SAVE, PREPARING));
    await waitFor("the line drawn after the delay", () => tty.written.length > 0);
    watch.stop();
    watch.stop();
    assert.deepEqual(tty.written, ["\r\x1b[2Ksave preparing", "\r\x1b[2K"]);
    assert.equal(stream.cancelled, true);
  });

  it("draws nothing for an operation that ends before the delay", async () => {
    const stream = new FakeStream();
    const tty = terminal();
    const following = followSnapshotProgress(stream, tty, 60_000);
    stream.emit("data", message(NONE, IDLE));
    const watch = await following;
    stream.emit("data", message(SAVE, PREPARING));
    stream.emit("data", message(SAVE, DONE));
    watch.stop();
    assert.deepEqual(tty.written, []);
  });

  it("goes ahead without a bar when the daemon has no such service (UNIMPLEMENTED)", async () => {
    const stream = new FakeStream();
    const tty = terminal();
    const following = followSnapshotProgress(stream, tty, 0);
    stream.emit("error", Object.assign(new Error("12 UNIMPLEMENTED: unknown service"), { code: Code.UNIMPLEMENTED }));
    const watch = await following;
    // Timers of one delay fire in the order they were set: the display's show() has run by then.
    await new Promise((resolve) => setTimeout(resolve, 0));
    watch.stop();
    assert.deepEqual(tty.written, []);
  });
});
