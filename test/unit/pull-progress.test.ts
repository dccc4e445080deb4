import assert from "node:assert/strict";
import { PullDisplay } from "../../cli/open-progress";
import { applyPullLine, bar, emptyBoard, fractionOf, markPulled, renderBoard, type PullBoard } from "../../cli/pull-progress";
import { parsePullLine, type PullLine } from "../../server/supervisor/runtime/container/pull-lines";

const APP = "127.0.0.1:5000/app:1";
const DB = "127.0.0.1:5000/db:2";

function boardOf(lines: readonly PullLine[]): PullBoard {
  return lines.reduce(applyPullLine, emptyBoard);
}

const layer = (image: string, id: string, status: string, percent?: number, total = 10_000_000): PullLine => ({ kind: "layer", image, layer: id, status, ...(percent === undefined ? {} : { bytes: { percent, total } }) });

describe("ghostctl open: pull bars", () => {
  it("draws a bar and its percent", () => {
    assert.equal(bar(0), "[--------------------]   0%");
    assert.equal(bar(0.456), "[#########-----------]  45%");
    assert.equal(bar(1), "[####################] 100%");
    assert.equal(bar(1.7), bar(1), "never past full");
  });

  it("counts each layer alike: a had layer whole, one on its way by its bytes", () => {
    const board = boardOf([{ kind: "start", image: APP }, layer(APP, "aaa", "Already exists"), layer(APP, "bbb", "Downloading", 50), layer(APP, "ccc", "Pulling fs layer"), layer(APP, "ddd", "Waiting")]);
    assert.equal(fractionOf(board.get(APP) ?? assert.fail()), (1 + 0.5) / 4);
    assert.deepEqual(renderBoard(board, 120), [`[#######-------------]  37% ${APP}  1/4 layers, 10.0 MB`]);
  });

  it("keeps a layer had once the engine said so, through Docker's extraction after it", () => {
    const board = boardOf([layer(APP, "aaa", "Downloading", 90), layer(APP, "aaa", "Download complete"), layer(APP, "aaa", "Extracting", 10)]);
    assert.equal(fractionOf(board.get(APP) ?? assert.fail()), 1);
  });

  it("keeps a layer's progress through a status that tells no bytes", () => {
    const board = boardOf([layer(APP, "aaa", "Downloading", 60), layer(APP, "aaa", "Verifying Checksum")]);
    assert.equal(fractionOf(board.get(APP) ?? assert.fail()), 0.6);
  });

  it("draws one line per image in the order their pulls started, each ending in what became of it", () => {
    const board = boardOf([
      { kind: "start", image: DB },
      { kind: "start", image: APP },
      layer(APP, "aaa", "Pulling fs layer"),
      { kind: "pulled", image: DB, detail: "sha256:ab12, 1.3 MB" },
      { kind: "failed", image: APP, reason: "manifest unknown" },
    ]);
    assert.deepEqual(renderBoard(board, 200), [`[####################] 100% ${DB}  pulled (sha256:ab12, 1.3 MB)`, `[--------------------]   0% ${APP}  failed: manifest unknown`]);
  });

  it("shows a pulled digest as its first 12 digits", () => {
    const board = boardOf([{ kind: "pulled", image: APP, detail: `sha256:${"0123456789abcdef".repeat(4)}, 2.1 MB` }]);
    assert.deepEqual(renderBoard(board, 200), [`[####################] 100% ${APP}  pulled (sha256:0123456789ab, 2.1 MB)`]);
  });

  it("says so when a pull has begun and named no layer yet", () => {
    assert.deepEqual(renderBoard(boardOf([{ kind: "start", image: APP }]), 80), [`[--------------------]   0% ${APP}  starting`]);
  });

  it("cuts a line to the terminal's width less one, so it never wraps", () => {
    const [line] = renderBoard(boardOf([{ kind: "failed", image: APP, reason: `no 👍 ${"x".repeat(200)}` }]), 60);
    assert.equal([...new Intl.Segmenter().segment(line ?? "")].length, 59);
    assert.ok(line?.endsWith("…"));
  });

  it("changes nothing for a line told twice (one per service of the image)", () => {
    const once = boardOf([layer(APP, "aaa", "Downloading", 30)]);
    assert.deepEqual(renderBoard(applyPullLine(once, layer(APP, "aaa", "Downloading", 30)), 100), renderBoard(once, 100));
  });

  it("marks what OpenProject says it pulled, seen in the log or not", () => {
    const board = markPulled(boardOf([{ kind: "start", image: APP }]), [APP, DB]);
    assert.deepEqual(
      [...board.values()].map((p) => [p.image, p.state]),
      [
        [APP, "pulled"],
        [DB, "pulled"],
      ],
    );
  });
});

describe("ghostctl open: the bars on a terminal", () => {
  function terminal(columns = 100): { written: string[]; write(text: string): void; columns(): number } {
    const written: string[] = [];
    return { written, write: (text) => written.push(text), columns: () => columns };
  }

  it("draws nothing for an open that pulls nothing, or for log lines that are not pulls", () => {
    const tty = terminal();
    const display = new PullDisplay(tty);
    display.take(["[ghostd] building: Step 1/2 : FROM localhost/busybox:latest", "hello"]);
    display.finish([]);
    assert.deepEqual(tty.written, []);
  });

  it("draws each change over the lines it drew before, and leaves the final lines in place", () => {
    const tty = terminal();
    const display = new PullDisplay(tty);
    display.take([`[ghostd] pulling ${APP}`]);
    display.take([`[ghostd] pulling ${APP}: aaa Downloading 50% of 2.0 MB`, `[ghostd] pulling ${DB}`]);
    display.take([`[ghostd] pulling ${APP}: aaa Downloading 50% of 2.0 MB`]);
    display.finish([APP, DB]);
    display.take([`[ghostd] pulling ${APP}: aaa Downloading 90% of 2.0 MB`]);
    assert.deepEqual(tty.written, [
      `\r\x1b[2K[--------------------]   0% ${APP}  starting\n`,
      `\x1b[1A\r\x1b[2K[##########----------]  50% ${APP}  0/1 layers, 2.0 MB\n\r\x1b[2K[--------------------]   0% ${DB}  starting\n`,
      // The same line again draws nothing; what comes after finish() neither.
      `\x1b[2A\r\x1b[2K[####################] 100% ${APP}  pulled\n\r\x1b[2K[####################] 100% ${DB}  pulled\n`,
    ]);
  });

  it("waits for the pulls drawn to end, the log's lines coming after the open's answer, but not forever", async () => {
    const display = new PullDisplay(terminal());
    await display.whenSettled(10_000);
    display.take([`[ghostd] pulling ${APP}`]);
    assert.equal(display.settled(), false);
    const settling = display.whenSettled(10_000);
    display.take([`[ghostd] pull failed ${APP}: manifest unknown`]);
    await settling;
    assert.equal(display.settled(), true);

    display.take([`[ghostd] pulling ${DB}`]);
    const started = Date.now();
    await display.whenSettled(50);
    assert.ok(Date.now() - started >= 45, "gave up after its time");
  });

  it("parses the lines the daemon writes (as stored, with [ghostd])", () => {
    assert.deepEqual(parsePullLine(`[ghostd] pulling ${APP}: aaa Downloading 50% of 2.0 MB`), layer(APP, "aaa", "Downloading", 50, 2_000_000));
  });
});
