import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { HostApi } from "../helpers/host-api";
import { tempDir } from "../helpers/tmp";

/** Hostile input to the guest agent over the Host API: each answer is a clear error or a kept promise. */
describe("security: guest agent input", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-agent-");
  let daemon: DaemonProcess;
  let api: HostApi;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "off"], env: { HOME: home.path, DISPLAY: "" } });
    api = new HostApi(daemon.endpoints.host_api.local ?? "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  it("keeps every path of 20 concurrent queue writes that answered 200", async () => {
    const files = Array.from({ length: 20 }, (_, i) => {
      const file = join(home.path, `queued-${i}.txt`);
      writeFileSync(file, String(i));
      return file;
    });
    const replies = await Promise.all(files.map((file) => api.send("POST", "/api/v1/files", { paths: [file] })));
    assert.deepEqual(replies.map((r) => r.status), files.map(() => 200), replies.map((r) => r.body.toString()).join("\n"));
    const listed = (await api.get("/api/v1/files")).json<{ files: string[] }>().files;
    assert.deepEqual([...listed].sort(), [...files].sort());
  });

  it("refuses to read a FIFO or a device at once, where opening the FIFO blocked for good", async () => {
    const fifo = join(home.path, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    for (const path of [fifo, "/dev/zero"]) {
      const started = Date.now();
      const reply = await api.get(`/api/v1/files${path}`);
      assert.equal(reply.status, 400, `${path}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
      assert.equal(reply.json<{ code: string }>().code, "not_a_file");
      assert.ok(Date.now() - started < 2000, `${path} took ${Date.now() - started} ms`);
    }
    assert.equal((await api.get("/health")).status, 200);
  });

  it("answers a NUL byte in a path or argument with 400 and a clear code, never 500", async () => {
    const attempts: [string, string, unknown][] = [
      ["GET", "/api/v1/fs?path=%2Ftmp%00x", undefined],
      ["POST", "/api/v1/fs/mkdir", { path: "/tmp/a\u0000b" }],
      ["POST", "/api/v1/fs/delete", { path: "/tmp/a\u0000b" }],
      ["POST", "/api/v1/fs/move", { from: "/tmp/a\u0000b", to: "/tmp/c" }],
      ["POST", "/api/v1/files", { paths: ["/tmp/a\u0000b"] }],
      ["POST", "/api/v1/exec", { command: "echo", args: ["a\u0000b"] }],
      ["POST", "/api/v1/exec", { command: "ec\u0000ho" }],
      ["POST", "/api/v1/exec", { command: "echo", cwd: "/tmp\u0000" }],
      ["POST", "/api/v1/open", { path: "/tmp/a\u0000b" }],
      ["GET", "/api/v1/files/tmp/a%00b", undefined],
      ["PUT", "/api/v1/files/tmp/a%00b", "data"],
    ];
    for (const [method, path, body] of attempts) {
      const reply = method === "GET" ? await api.get(path) : await api.send(method, path, body);
      const what = `${method} ${path} ${JSON.stringify(body)}: ${reply.status} ${reply.body.toString()}`;
      assert.equal(reply.status, 400, what);
      assert.equal(reply.json<{ code: string }>().code, "invalid_argument", what);
      assert.match(reply.json<{ error: string }>().error, /NUL/, what);
    }
  });
});
