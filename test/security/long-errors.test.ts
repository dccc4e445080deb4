import assert from "node:assert/strict";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { HostApi } from "../helpers/host-api";
import { TerminalApi } from "../helpers/terminal-api";
import { tempDir } from "../helpers/tmp";

/** An error that would echo a huge value: a prompt 4xx with a bounded message, and no stall for anyone else. */
describe("security: long values in errors", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-long-");
  let daemon: DaemonProcess;
  let terminals: TerminalApi;
  let host: HostApi;
  const long = "x".repeat(100_000);

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0"], env: { HOME: home.path, SHELL: "/bin/sh" } });
    terminals = new TerminalApi(daemon.endpoints.http ?? "");
    host = new HostApi(daemon.endpoints.host_api.local ?? "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  /** Sends `attempt`, then times an unrelated request on each surface. */
  async function answersPromptly(attempt: () => Promise<{ status: number; text: string }>, status: number): Promise<void> {
    const started = Date.now();
    const reply = await attempt();
    const took = Date.now() - started;
    assert.equal(reply.status, status, reply.text.slice(0, 300));
    assert.ok(took < 2000, `the bad request took ${took} ms`);
    assert.ok(reply.text.length < 4096, `the error is ${reply.text.length} bytes`);
    for (const next of [() => terminals.request("GET", "/terminals"), () => host.get("/health")]) {
      const asked = Date.now();
      assert.equal((await next()).status, 200);
      assert.ok(Date.now() - asked < 1000, `an unrelated request took ${Date.now() - asked} ms after it`);
    }
  }

  it("a 100 KB location: 400 invalid_location", async () => {
    await answersPromptly(() => terminals.request("POST", "/terminals", { location: long }), 400);
  });

  it("a 100 KB exec command: 404 command_not_found", async () => {
    await answersPromptly(() => host.exec({ command: long }), 404);
  });

  it("a 100 KB mkdir path: a 4xx, not a stall", async () => {
    const reply = await host.send("POST", "/api/v1/fs/mkdir", { path: `/tmp/${long}` });
    assert.ok(reply.status >= 400 && reply.status < 500, `${reply.status} ${reply.body.toString().slice(0, 200)}`);
    await answersPromptly(() => host.send("POST", "/api/v1/fs/mkdir", { path: `/tmp/${long}` }), reply.status);
  });
});
