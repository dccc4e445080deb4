import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { agentDaemon } from "../helpers/agent-daemon";
import { call } from "../helpers/http";
import { MiB, rssBytes } from "../helpers/proc-stats";
import { waitFor } from "../helpers/wait";

const run = promisify(execFile);
const GiB = 1024 * MiB;

/** 1 MiB blocks that differ from each other, so a dropped, repeated or reordered one changes the digest. */
function block(i: number): Buffer {
  return Buffer.alloc(MiB, createHash("sha256").update(`block-${i}`).digest());
}

/** Everything under a directory, hidden entries included, as relative paths. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("Host API file transfer: POST /api/v1/files/receive, and downloads", function () {
  this.timeout(180_000);
  const agent = agentDaemon("ghostd-receive-home-");
  const received = join(agent.home, "Downloads", "ghostd");
  const receive = (body: string | Buffer, headers: Record<string, string>) => agent.api.send("POST", "/api/v1/files/receive", body, headers);

  it("saves a file under ~/Downloads/ghostd with its permissions, and answers its path (curl)", async () => {
    const source = join(agent.home, "tool.sh");
    writeFileSync(source, "#!/bin/sh\necho received\n");
    const { stdout } = await run("curl", ["-sS", "--unix-socket", agent.socketPath, "-H", "X-Filename: tool.sh", "-H", "X-Permissions: 0755", "--data-binary", `@${source}`, "http://localhost/api/v1/files/receive"]);
    const answer = JSON.parse(stdout) as { path: string; size: number };
    assert.equal(answer.path, join(received, "tool.sh"));
    assert.equal(answer.size, 24);
    assert.equal(statSync(answer.path).mode & 0o777, 0o755);
    assert.equal((await run(answer.path)).stdout, "received\n");
  });

  it("never replaces a file: the same name again is `name (1).ext`", async () => {
    const first = (await receive("first", { "X-Filename": "report.txt" })).json<{ path: string }>();
    const second = (await receive("second", { "X-Filename": "report.txt" })).json<{ path: string }>();
    assert.equal(first.path, join(received, "report.txt"));
    assert.equal(second.path, join(received, "report (1).txt"));
    assert.equal(readFileSync(first.path, "utf8"), "first");
    assert.equal(readFileSync(second.path, "utf8"), "second");
    assert.equal(statSync(first.path).mode & 0o777, 0o644, "644 without X-Permissions");
  });

  it("keeps hostile names inside the receive directory, and takes names in any script", async () => {
    mkdirSync(received, { recursive: true });
    const before = readdirSync(agent.home).sort();
    const climb = (await receive("x", { "X-Filename": "../../../escape.txt" })).json<{ path: string }>();
    const absolute = (await receive("x", { "X-Filename": "/etc/cron.d/evil" })).json<{ path: string }>();
    const windows = (await receive("x", { "X-Filename": "..\\..\\win.ini" })).json<{ path: string }>();
    assert.equal(climb.path, join(received, "escape.txt"));
    assert.equal(absolute.path, join(received, "etc", "cron.d", "evil"));
    assert.equal(windows.path, join(received, "win.ini"));
    assert.deepEqual(readdirSync(agent.home).sort(), before, "nothing appeared beside Downloads");
    const name = "Grüße 📄.txt";
    // curl sends the header's UTF-8 bytes as they are (Node's client re-encodes them, depending on how the body is written).
    const { stdout } = await run("curl", ["-sS", "--unix-socket", agent.socketPath, "-H", `X-Filename: ${name}`, "--data-binary", "hallo", "http://localhost/api/v1/files/receive"]);
    const unicode = JSON.parse(stdout) as { path: string };
    assert.equal(unicode.path, join(received, name));
    assert.equal(readFileSync(join(received, name), "utf8"), "hallo");
  });

  it("keeps a batch's files together in one fresh directory, and lists them on the last", async () => {
    mkdirSync(join(received, "photos"), { recursive: true });
    const batch = { "X-Batch-ID": "holiday-1" };
    const a = (await receive("a", { ...batch, "X-Filename": "photos/a.jpg" })).json<{ path: string; batchPaths: string[] }>();
    const b = (await receive("b", { ...batch, "X-Filename": "photos/2024/b.jpg" })).json<{ path: string }>();
    const last = (await receive("c", { ...batch, "X-Filename": "photos/c.jpg", "X-Batch-Last": "true" })).json<{ path: string; batchPaths: string[]; batchFiles: number }>();
    assert.equal(a.path, join(received, "photos (1)", "a.jpg"), "the existing photos directory is left alone");
    assert.deepEqual(a.batchPaths, []);
    assert.equal(b.path, join(received, "photos (1)", "2024", "b.jpg"));
    assert.deepEqual(last.batchPaths, [a.path, b.path, last.path]);
    assert.equal(last.batchFiles, 3);
    assert.deepEqual(readdirSync(join(received, "photos")), []);
  });

  it("streams a chunked body with no Content-Length", async () => {
    const reply = await call({ socketPath: agent.socketPath, method: "POST", path: "/api/v1/files/receive", headers: { "X-Filename": "chunked.bin" }, body: Buffer.alloc(300_000, 7), chunked: true });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(statSync(join(received, "chunked.bin")).size, 300_000);
  });

  it("answers a clear 400 for a missing name, bad permissions or a bad batch flag, and saves nothing", async () => {
    const before = tree(received);
    const missing = await receive("x", {});
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.json(), { error: "the X-Filename header is required", code: "missing_header" });
    const permissions = await receive("x", { "X-Filename": "p.txt", "X-Permissions": "rwxr-xr-x" });
    assert.equal(permissions.status, 400);
    assert.equal(permissions.json().code, "invalid_argument");
    assert.match(String(permissions.json().error), /octal/);
    const last = await receive("x", { "X-Filename": "l.txt", "X-Batch-Last": "maybe" });
    assert.equal(last.status, 400);
    assert.match(String(last.json().error), /X-Batch-Last/);
    const nothing = await receive("x", { "X-Filename": "../.." });
    assert.equal(nothing.status, 400);
    assert.match(String(nothing.json().error), /names no file/);
    assert.deepEqual(tree(received), before);
  });

  it("leaves no partial file when the sender goes away midway", async () => {
    const before = tree(received);
    const req = request({ socketPath: agent.socketPath, method: "POST", path: "/api/v1/files/receive", headers: { "X-Filename": "cut.bin", "Content-Length": String(64 * MiB) } });
    req.on("error", () => undefined);
    req.write(block(0));
    await waitFor("the partial file", () => tree(received).some((name) => name.startsWith(".ghostd-receiving-")));
    req.destroy();
    await waitFor("the partial file to go", () => !tree(received).some((name) => name.startsWith(".ghostd-receiving-")));
    assert.deepEqual(tree(received), before);
  });

  it("passes 2 GiB up and back down byte-exact, without the daemon's memory growing", async () => {
    const pid = agent.daemon.child.pid ?? 0;
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
    const blocks = 2048;
    try {
      const sent = createHash("sha256");
      const uploaded = await new Promise<{ path: string; size: string }>((resolve, reject) => {
        const req = request({ socketPath: agent.socketPath, method: "POST", path: "/api/v1/files/receive", headers: { "X-Filename": "big.bin", "Content-Length": String(2 * GiB) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString()) as { path: string; size: string }) : reject(new Error(Buffer.concat(chunks).toString()))));
        });
        req.on("error", reject);
        let i = 0;
        const more = (): void => {
          while (i < blocks) {
            const data = block(i++);
            sent.update(data);
            if (!req.write(data)) return void req.once("drain", more);
          }
          req.end();
        };
        more();
      });
      assert.equal(Number(uploaded.size), 2 * GiB);
      const digest = sent.digest("hex");

      const got = createHash("sha256");
      let gotBytes = 0;
      const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        const req = request({ socketPath: agent.socketPath, path: `/api/v1/files${uploaded.path}` }, (res) => {
          res.on("data", (c: Buffer) => {
            got.update(c);
            gotBytes += c.length;
          });
          res.on("end", () => resolve(res.headers));
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(gotBytes, 2 * GiB);
      assert.equal(got.digest("hex"), digest);
      assert.equal(headers["content-disposition"], `attachment; filename="big.bin"; filename*=UTF-8''big.bin`);
      assert.equal(headers["x-permissions"], "0644");
    } finally {
      clearInterval(sampler);
    }
    assert.ok(peak - baseline < 96 * MiB, `the daemon grew ${((peak - baseline) / MiB).toFixed(1)} MiB while 4 GiB passed`);
  });
});
