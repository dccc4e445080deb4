import assert from "node:assert/strict";
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HealthMonitor, type Health } from "../../../server/supervisor/health";
import { ProjectLogs, type LogLine } from "../../../server/supervisor/logs";
import { tempDir } from "../../helpers/tmp";
import { waitFor } from "../../helpers/wait";

describe("service logs", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  it("stores whole lines with their stream, joining chunks and keeping the unfinished rest", () => {
    const logs = new ProjectLogs(dir.path);
    logs.write("web", "stdout", "hel");
    logs.write("web", "stdout", "lo\nwor");
    logs.write("web", "stderr", Buffer.from("oops\r\n"));
    assert.deepEqual(logs.tail(10).map((l) => [l.stream, l.line]), [["stdout", "hello"], ["stderr", "oops"]]);
    logs.flush("web");
    assert.deepEqual(logs.tail(10).map((l) => l.line), ["hello", "oops", "wor"]);
  });

  it("merges services in time order and filters by service", async () => {
    const logs = new ProjectLogs(dir.path);
    const before = Date.now();
    logs.write("db", "stdout", "db 1\n");
    await waitFor("the clock to move", () => Date.now() > before);
    logs.write("api", "stdout", "api 1\n");
    await waitFor("the clock to move", () => Date.now() > before + 1);
    logs.write("db", "stdout", "db 2\n");
    assert.deepEqual(logs.tail(10).map((l) => `${l.service}: ${l.line}`), ["db: db 1", "api: api 1", "db: db 2"]);
    assert.deepEqual(logs.tail(10, "db").map((l) => l.line), ["db 1", "db 2"]);
    assert.deepEqual(logs.tail(2).map((l) => l.line), ["api 1", "db 2"]);
    assert.deepEqual(logs.tail(0), []);
    for (const line of logs.tail(10)) assert.ok(line.timestamp instanceof Date && !Number.isNaN(line.timestamp.getTime()));
  });

  it("rotates at its size cap, keeping one older file to read from", () => {
    const logs = new ProjectLogs(dir.path, 4096);
    for (let i = 0; i < 200; i++) logs.write("web", "stdout", `line ${i} ${"x".repeat(40)}\n`);
    assert.deepEqual(readdirSync(dir.path).sort(), ["web.log", "web.log.1"]);
    for (const file of ["web.log", "web.log.1"]) assert.ok(readFileSync(join(dir.path, file)).length <= 4096, file);
    const tail = logs.tail(20).map((l) => l.line.split(" ")[1]);
    assert.deepEqual(tail, Array.from({ length: 20 }, (_, i) => String(180 + i)));
  });

  it("cuts runaway lines and never stores a secret", () => {
    const logs = new ProjectLogs(dir.path);
    logs.redact(["hunter2-secret", "abc"]);
    logs.write("web", "stdout", `token=hunter2-secret and abc\n${"y".repeat(100_000)}`);
    logs.flush("web");
    const lines = logs.tail(10).map((l) => l.line);
    assert.equal(lines[0], "token=*** and abc", "values shorter than four characters are left");
    assert.equal(lines[1]?.length, 16 * 1024);
    assert.doesNotMatch(readFileSync(join(dir.path, "web.log"), "utf8"), /hunter2/);
  });

  it("masks a secret split across chunks, in the middle of a character or of a runaway line", () => {
    const logs = new ProjectLogs(dir.path);
    const secret = "pässwörd-123";
    logs.redact([secret]);
    const bytes = Buffer.from(`a ${secret} b\n`);
    const cut = bytes.indexOf(0xc3) + 1;
    logs.write("web", "stdout", bytes.subarray(0, cut));
    logs.write("web", "stdout", bytes.subarray(cut));
    const base64 = Buffer.from(secret).toString("base64");
    logs.write("web", "stdout", `${"z".repeat(20 * 1024)}${base64.slice(0, 6)}`);
    logs.write("web", "stdout", `${base64.slice(6)} end\n`);
    logs.write("web", "stderr", Buffer.from(secret).subarray(0, 2));
    logs.flush("web");
    const lines = logs.tail(10).map((l) => l.line);
    assert.equal(lines[0], "a *** b");
    assert.equal(lines[1], "z".repeat(16 * 1024), "a runaway line is cut as before");
    assert.match(lines[2] ?? "", /^z*\*\*\* end$/, "the secret the cut went through is masked whole with the line's last characters");
    assert.equal(lines[3], "p\ufffd", "a character cut short at the end is flushed as it is");
    assert.doesNotMatch(readFileSync(join(dir.path, "web.log"), "utf8"), /ss|c3N/);
  });

  it("stores no empty line while a secret longer than a line keeps a runaway line back", () => {
    const logs = new ProjectLogs(dir.path);
    const secret = "s".repeat(8 * 1024);
    logs.redact([secret]);
    logs.write("web", "stdout", "x".repeat(17 * 1024));
    assert.deepEqual(logs.tail(10), [], "all of it may begin the secret");
    logs.write("web", "stdout", `${"y".repeat(17 * 1024)}\n`);
    const lines = logs.tail(10).map((l) => l.line);
    assert.ok(lines.length >= 1 && lines.every((line) => line.length > 0), lines.map((l) => l.length).join(","));
  });

  it("follows new lines until unsubscribed, and removes its files", () => {
    const logs = new ProjectLogs(dir.path);
    const seen: LogLine[] = [];
    const stop = logs.follow((lines) => seen.push(...lines));
    logs.write("web", "stdout", "one\ntwo\n");
    logs.note("web", "restarted");
    stop();
    logs.write("web", "stdout", "three\n");
    assert.deepEqual(seen.map((l) => l.line), ["one", "two", "[ghostd] restarted"]);
    assert.deepEqual(logs.remove(), [join(dir.path, "web.log")]);
    assert.equal(existsSync(dir.path), false);
    assert.deepEqual(logs.tail(10), []);
  });

  it("makes its directory again when it was removed by hand", () => {
    const logs = new ProjectLogs(dir.path);
    logs.write("web", "stdout", "before\n");
    rmSync(dir.path, { recursive: true });
    logs.write("web", "stdout", "after\n");
    assert.deepEqual(logs.tail(10).map((l) => l.line), ["after"]);
  });

  it("skips lines it cannot read", () => {
    const logs = new ProjectLogs(dir.path);
    logs.write("web", "stdout", "good\n");
    appendFileSync(join(dir.path, "web.log"), "not json\n{\"t\":1}\n");
    assert.deepEqual(logs.tail(10).map((l) => l.line), ["good"]);
  });
});

describe("healthchecks", () => {
  const plan = { test: ["probe"], intervalMs: 10, timeoutMs: 1000, retries: 2, startPeriodMs: 0 };

  it("turns healthy after a passing probe and says so once", async () => {
    const changes: Health[] = [];
    let calls = 0;
    const monitor = new HealthMonitor({ ...plan, retries: 3 }, () => Promise.resolve(++calls >= 3 ? 0 : 1), (h) => changes.push(h));
    try {
      await monitor.healthy();
      assert.equal(monitor.health, "healthy");
      assert.ok(calls >= 3);
      await waitFor("a few more passing probes", () => calls >= 5);
      assert.deepEqual(changes, ["healthy"]);
    } finally {
      monitor.stop();
    }
  });

  it("turns unhealthy after its retries fail in a row, and rejects who waits", async () => {
    const monitor = new HealthMonitor(plan, () => Promise.reject(new Error("cannot run")), () => undefined);
    await assert.rejects(monitor.healthy(), /unhealthy after 2 failed checks/);
    assert.equal(monitor.health, "unhealthy");
    monitor.stop();
  });

  it("does not count failures during the start period", async () => {
    let calls = 0;
    const monitor = new HealthMonitor({ ...plan, startPeriodMs: 150 }, () => Promise.resolve(++calls > 4 ? 0 : 1), () => undefined);
    await monitor.healthy();
    assert.ok(calls > 4, "four failures inside the start period are not counted");
    monitor.stop();
  });

  it("does not count failures while suspended (a service paused for a snapshot), and counts them again after", async () => {
    let calls = 0;
    const changes: Health[] = [];
    const monitor = new HealthMonitor(plan, () => Promise.resolve(++calls === 1 ? 0 : 1), (h) => changes.push(h));
    try {
      await monitor.healthy();
      const release = monitor.suspend();
      const seen = calls;
      await waitFor("several failing probes while suspended", () => calls >= seen + 5);
      assert.equal(monitor.health, "healthy", "none of them counted");
      release();
      await waitFor("unhealthy once failures count again", () => monitor.health === "unhealthy");
      assert.deepEqual(changes, ["healthy", "unhealthy"]);
    } finally {
      monitor.stop();
    }
  });

  it("rejects waiters when stopped", async () => {
    const monitor = new HealthMonitor({ ...plan, intervalMs: 60_000 }, () => Promise.resolve(1), () => undefined);
    const waiting = monitor.healthy();
    monitor.stop("the service stopped");
    await assert.rejects(waiting, /the service stopped/);
  });
});
