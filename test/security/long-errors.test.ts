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
    // What starts on first use (the exec host, the gateway's channels) is started before timing.
    assert.equal((await host.exec({ command: "true" })).status, 200);
    assert.equal((await terminals.request("GET", "/terminals")).status, 200);
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  /** How long each of one unrelated request per surface took. */
  async function unrelatedRequests(): Promise<number[]> {
    const took: number[] = [];
    for (const next of [() => terminals.request("GET", "/terminals"), () => host.get("/health")]) {
      const asked = Date.now();
      assert.equal((await next()).status, 200);
      took.push(Date.now() - asked);
    }
    return took;
  }

  /** Sends `attempt` while unrelated requests go on each surface, during it and after it, and times them all. */
  async function answersPromptly(attempt: () => Promise<{ status: number; text: string }>, status: number): Promise<void> {
    const started = Date.now();
    let took: number | undefined;
    const pending = attempt().finally(() => (took = Date.now() - started));
    const unrelated: number[] = [];
    do unrelated.push(...(await unrelatedRequests()));
    while (took === undefined);
    const reply = await pending;
    unrelated.push(...(await unrelatedRequests()));
    assert.equal(reply.status, status, reply.text.slice(0, 300));
    assert.ok(took < 2000, `the bad request took ${took} ms`);
    assert.ok(reply.text.length < 4096, `the error is ${reply.text.length} bytes`);
    // A stall on a long input (a backtracking pattern, a quadratic scan) holds the event loop for
    // seconds; 500 ms is far below that, and above what a loaded 2-core CI machine adds (158 ms seen).
    assert.ok(Math.max(...unrelated) < 500, `unrelated requests took ${unrelated.join(", ")} ms`);
  }

  it("a 100 KB location: 400 invalid_location", async () => {
    await answersPromptly(() => terminals.request("POST", "/terminals", { location: long }), 400);
  });

  it("a location of 100 000 emoji, cut inside one, or a lone surrogate: 400, not a call that is never answered", async () => {
    await answersPromptly(() => terminals.request("POST", "/terminals", { location: "😀".repeat(100_000) }), 400);
    await answersPromptly(() => terminals.request("POST", "/terminals", { location: "a\ud800b" }), 400);
    await answersPromptly(() => host.send("POST", "/api/v1/fs/mkdir", { path: `/tmp/x\udc00${"😀".repeat(1000)}` }), 400);
  });

  it("a 100 KB exec command: 400 invalid_argument, as no file name is that long", async () => {
    await answersPromptly(() => host.exec({ command: long }), 400);
    assert.equal((await host.exec({ command: long })).json<{ code: string }>().code, "invalid_argument");
  });

  it("a 100 KB command line that reads as a shell's still says exec runs no shell", async () => {
    const reply = await host.exec({ command: `echo ${long} | wc -c` });
    assert.equal(reply.status, 404, reply.text.slice(0, 300));
    assert.match(reply.json<{ error: string }>().error, /without a shell/);
  });

  it("a 100 KB mkdir path: 400 invalid_argument", async () => {
    await answersPromptly(() => host.send("POST", "/api/v1/fs/mkdir", { path: `/tmp/${long}` }), 400);
    assert.equal((await host.send("POST", "/api/v1/fs/mkdir", { path: `/tmp/${long}` })).json<{ code: string }>().code, "invalid_argument");
  });
});
