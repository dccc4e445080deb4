import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ReceivedFiles } from "../../../server/agent/receive/received-files";
import { numberedName, parseMode, sanitisedName } from "../../../server/agent/receive/received-names";
import { tempDir } from "../../helpers/tmp";

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield await Promise.resolve(Buffer.from(part));
}

/** Chunks that stop once `signal` aborts, as a sender that goes away midway. */
async function* interrupted(controller: AbortController): AsyncGenerator<Buffer> {
  yield await Promise.resolve(Buffer.from("the first half "));
  controller.abort();
  throw new Error("the stream was cut");
}

const reasonOf = (reason: string) => (err: unknown) => (err as { reason?: string }).reason === reason;

describe("received file names", () => {
  it("keeps a sender's name inside the receive directory, whatever it says", () => {
    assert.deepEqual(sanitisedName("report.pdf"), ["report.pdf"]);
    assert.deepEqual(sanitisedName("../../etc/passwd"), ["etc", "passwd"]);
    assert.deepEqual(sanitisedName("/abs/./path//x.txt"), ["abs", "path", "x.txt"]);
    assert.deepEqual(sanitisedName("dir\\..\\..\\win.txt"), ["dir", "win.txt"]);
    assert.deepEqual(sanitisedName("bell\u0007and\nnewline.txt"), ["bell_and_newline.txt"]);
    assert.deepEqual(sanitisedName("...hidden"), ["...hidden"]);
  });

  it("refuses a name that names nothing, a NUL, or one longer than the kernel takes", () => {
    for (const name of ["", "..", "/", "./../.", " / "]) assert.throws(() => sanitisedName(name), reasonOf("invalid_argument"), JSON.stringify(name));
    assert.throws(() => sanitisedName("a\u0000b"), reasonOf("invalid_argument"));
    assert.throws(() => sanitisedName("x".repeat(256)), reasonOf("invalid_argument"));
    assert.deepEqual(sanitisedName("x".repeat(255)), ["x".repeat(255)]);
  });

  it("numbers a taken name before its extension, and a hidden name at its end", () => {
    assert.equal(numberedName("report.pdf", 0), "report.pdf");
    assert.equal(numberedName("report.pdf", 1), "report (1).pdf");
    assert.equal(numberedName("archive.tar.gz", 2), "archive.tar (2).gz");
    assert.equal(numberedName(".env", 1), ".env (1)");
    assert.equal(numberedName("Makefile", 3), "Makefile (3)");
  });

  it("reads permissions as octal, keeping only the permission bits", () => {
    assert.equal(parseMode(undefined, 0o644), 0o644);
    assert.equal(parseMode("755", 0o644), 0o755);
    assert.equal(parseMode("0600", 0o644), 0o600);
    assert.equal(parseMode("0o640", 0o644), 0o640);
    assert.equal(parseMode("4755", 0o644), 0o755);
    for (const bad of ["rwx", "999", "0x1ff", "-1", "12345"]) assert.throws(() => parseMode(bad, 0o644), reasonOf("invalid_argument"), bad);
  });
});

describe("ReceivedFiles", () => {
  let dir: ReturnType<typeof tempDir>;
  let target: string;
  let files: ReceivedFiles;
  const signal = new AbortController().signal;
  beforeEach(() => {
    dir = tempDir("ghostd-receive-");
    target = join(dir.path, "Downloads", "ghostd");
    files = new ReceivedFiles(target);
  });
  afterEach(() => dir.remove());

  it("writes the chunks in order with the mode asked, creating the directory", async () => {
    const got = await files.receive({ filename: "notes.txt", permissions: "750" }, chunks("one ", "two ", "three"), signal);
    assert.deepEqual(got, { path: join(target, "notes.txt"), size: 13 });
    assert.equal(readFileSync(got.path, "utf8"), "one two three");
    assert.equal(statSync(got.path).mode & 0o7777, 0o750);
  });

  it("never replaces a file: concurrent senders of one name get numbered names", async () => {
    writeFileSync(join((mkdirSync(target, { recursive: true }), target), "a.txt"), "already here");
    const got = await Promise.all([1, 2, 3].map((n) => files.receive({ filename: "a.txt" }, chunks(`copy ${n}`), signal)));
    assert.deepEqual(got.map((g) => g.path).sort(), ["a (1).txt", "a (2).txt", "a (3).txt"].map((n) => join(target, n)));
    assert.equal(readFileSync(join(target, "a.txt"), "utf8"), "already here");
    assert.deepEqual(got.map((g) => readFileSync(g.path, "utf8")).sort(), ["copy 1", "copy 2", "copy 3"]);
  });

  it("gives a batch one fresh top directory, and lists its files on the last", async () => {
    mkdirSync(join(target, "photos"), { recursive: true });
    const first = await files.receive({ filename: "photos/a.jpg", batchId: "b1" }, chunks("a"), signal);
    const second = await files.receive({ filename: "photos/sub/b.jpg", batchId: "b1" }, chunks("b"), signal);
    const last = await files.receive({ filename: "top.txt", batchId: "b1", batchLast: true }, chunks("t"), signal);
    assert.equal(first.path, join(target, "photos (1)", "a.jpg"));
    assert.equal(second.path, join(target, "photos (1)", "sub", "b.jpg"));
    assert.deepEqual(last.batch, { paths: [first.path, second.path, last.path], files: 3 });
    const again = await files.receive({ filename: "photos/a.jpg", batchId: "b1" }, chunks("again"), signal);
    assert.equal(again.path, join(target, "photos (2)", "a.jpg"), "a batch that ended starts afresh");
  });

  it("never writes through a symlink the sender's directories run into", async () => {
    const outside = join(dir.path, "outside");
    mkdirSync(outside);
    mkdirSync(target, { recursive: true });
    symlinkSync(outside, join(target, "link"));
    const got = await files.receive({ filename: "link/x.txt" }, chunks("x"), signal);
    assert.equal(got.path, join(target, "link (1)", "x.txt"));
    assert.deepEqual(readdirSync(outside), []);
  });

  it("leaves nothing behind when the sender goes away midway", async () => {
    const controller = new AbortController();
    await assert.rejects(files.receive({ filename: "half.bin" }, interrupted(controller), controller.signal));
    assert.deepEqual(readdirSync(target), []);
  });

  it("refuses bad permissions before reading a byte", async () => {
    let read = false;
    async function* watched(): AsyncGenerator<Buffer> {
      read = await Promise.resolve(true);
      yield Buffer.from("x");
    }
    await assert.rejects(files.receive({ filename: "x", permissions: "rw-r--r--" }, watched(), signal), reasonOf("invalid_argument"));
    assert.equal(read, false);
  });
});
