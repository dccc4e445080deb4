import assert from "node:assert/strict";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { TerminalApi } from "../helpers/terminal-api";
import { tempDir } from "../helpers/tmp";

/** Regular expressions a client sends to `wait`: none can hold the daemon. */
describe("security: wait patterns", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-patterns-");
  let daemon: DaemonProcess;
  let api: TerminalApi;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0"], env: { HOME: home.path, SHELL: "/bin/sh" } });
    api = new TerminalApi(daemon.endpoints.http ?? "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  it("matches a backtracking pattern in linear time: the wait keeps its timeout and the daemon answers meanwhile", async () => {
    const t = await api.create({ command: "sleep 600" });
    await api.ok("POST", `/terminals/${t.id}/output`, { data: `${"a".repeat(29)}!` });
    const started = Date.now();
    const waiting = api.request("POST", `/terminals/${t.id}/wait`, { match: "^(a+)+$", timeout_ms: 2000 });
    let slowest = 0;
    while (Date.now() - started < 1500) {
      const asked = Date.now();
      assert.equal((await api.request("GET", "/terminals")).status, 200);
      slowest = Math.max(slowest, Date.now() - asked);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const reply = await waiting;
    assert.deepEqual([reply.status, reply.json().error], [408, "wait_timeout"]);
    assert.ok(Date.now() - started < 4000, `the 2 s wait took ${Date.now() - started} ms`);
    assert.ok(slowest < 500, `a list of terminals took ${slowest} ms while the pattern was matched`);
    await api.close(t.id);
  });

  it("refuses what the linear engine cannot match, and a pattern too long, as invalid_match", async () => {
    const t = await api.create({ command: "sleep 600" });
    for (const [match, why] of [
      ["(?<=a)b", /lookarounds and backreferences are not supported/],
      ["(a)\\1", /lookarounds and backreferences are not supported/],
      ["a".repeat(5000), /at most 4096 are taken/],
      ["(", /not a regular expression/],
    ] as const) {
      const reply = await api.request("POST", `/terminals/${t.id}/wait`, { match, timeout_ms: 100 });
      assert.deepEqual([reply.status, reply.json().error], [400, "invalid_match"], match.slice(0, 20));
      assert.match(reply.json<{ message: string }>().message, why);
      assert.ok(reply.text.length < 1000, "the pattern is not echoed whole");
    }
    await api.close(t.id);
  });
});
