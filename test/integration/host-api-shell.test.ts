import { credentials } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";
import { GuestAgentClient, type ShellResponse } from "../../generated/ghostd/agent/v1/agent";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { rawExchange } from "../helpers/host-api";
import { fdCount, fdsBackTo, MiB, rssBytes } from "../helpers/proc-stats";
import { tempDir } from "../helpers/tmp";
import { requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";
import { RefusedUpgrade, unixUrl, WsSession } from "../helpers/websocket";

const execFileAsync = promisify(execFile);
const PYTHON_CLIENT = join(packageRoot, "test", "fixtures", "python", "ws_shell.py");
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** The daemon's child processes that are not its exec host: the shells it started. */
function shellsOf(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number));
  return children.filter((child) => {
    try {
      return !readFileSync(`/proc/${child}/cmdline`, "utf8").includes("exec-host");
    } catch {
      return false;
    }
  });
}

function upgradeRequest(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n${extra}\r\n`;
}

describe("Host API interactive shell (WebSocket)", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-shell-home-");
  let daemon: DaemonProcess;
  let socketPath: string;
  const shellUrl = (query = ""): string => unixUrl(socketPath, `/api/v1/shell${query}`);

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0"], env: { HOME: home.path, SHELL: "/bin/bash" } });
    socketPath = daemon.endpoints.host_api.local ?? "";
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  it("runs a login shell: typed input, resize, and the exit code as a message before the Close frame", async () => {
    const shell = await WsSession.open(shellUrl("?cols=100&rows=30"));
    shell.send(Buffer.from("stty size; echo $TERM; echo answer-$((6*7))\n"));
    await shell.waitForOutput(/answer-42/);
    assert.match(shell.output, /30 100\r\n/);
    assert.match(shell.output, /xterm-256color/);
    const mark = shell.output.length;
    shell.send(JSON.stringify({ type: "resize", cols: 120, rows: 40 }), false);
    shell.send(Buffer.from("stty size\n"));
    await shell.waitForOutput(/40 120\r\n/, mark);
    shell.send(Buffer.from("exit 3\n"));
    const closed = await shell.waitForClose();
    assert.deepEqual(shell.texts, [{ type: "exit", code: 3 }]);
    assert.equal(closed.code, 1000);
  });

  it("opens at 80x24 with TERM=xterm-256color by default, in the user's home", async () => {
    const shell = await WsSession.open(shellUrl());
    shell.send(Buffer.from("stty size; echo \"term=$TERM pwd=$(pwd)\"; exit\n"));
    await shell.waitForClose();
    assert.match(shell.output, /24 80\r\n/);
    assert.match(shell.output, new RegExp(`term=xterm-256color pwd=${home.path}`));
    assert.deepEqual(shell.texts, [{ type: "exit", code: 0 }]);
  });

  it("runs a command through the login shell and answers a control message it cannot take without ending", async () => {
    const shell = await WsSession.open(shellUrl(`?command=${encodeURIComponent("read line; echo got-$line; exit 7")}`));
    shell.send(JSON.stringify({ type: "explode" }), false);
    await waitFor("the refusal of an unknown control message", () => shell.texts.length > 0);
    assert.equal(shell.texts[0]?.type, "error");
    assert.equal(shell.texts[0].code, "invalid_frame");
    shell.send(Buffer.from("still-here\n"));
    await shell.waitForClose();
    assert.match(shell.output, /got-still-here/);
    assert.deepEqual(shell.texts.at(-1), { type: "exit", code: 7 });
  });

  it("speaks RFC 6455 to an independent client: Python's standard library, masked and fragmented frames, a ping", async function () {
    requireTools(this, [{ what: "python3", present: spawnSync("python3", ["--version"]).status === 0, provider: "Debian package python3" }]);
    const { stdout } = await execFileAsync("python3", [PYTHON_CLIENT, socketPath], { timeout: 30_000 });
    const report = JSON.parse(stdout) as { status: string; accepted: boolean; output: string; texts: unknown[]; pongs: string[]; close: number };
    assert.equal(report.status, "HTTP/1.1 101 Switching Protocols");
    assert.ok(report.accepted, "Sec-WebSocket-Accept is the RFC's hash of the key");
    assert.match(report.output, /20 90\r\n/);
    assert.match(report.output, /py-42/);
    assert.match(report.output, /43 132\r\n/);
    assert.deepEqual(report.pongs, ["are-you-there"]);
    assert.deepEqual(report.texts, [{ type: "exit", code: 3 }]);
    assert.equal(report.close, 1000);
  });

  it("serves the same shell to a gRPC client, without HTTP", async () => {
    const client = new GuestAgentClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
    const call = client.shell();
    let output = "";
    let exit: number | undefined;
    call.on("data", (reply: ShellResponse) => {
      output += reply.output.toString("utf8");
      if (reply.exit) exit = reply.exit.code;
    });
    const ended = new Promise<void>((resolve, reject) => {
      call.on("end", resolve);
      call.on("error", reject);
    });
    call.write({ open: { cols: 70, rows: 21, env: { GREETING: "hi-from-grpc" } }, input: Buffer.alloc(0) });
    call.write({ input: Buffer.from("stty size; echo $GREETING; exit 5\n") });
    await ended;
    client.close();
    assert.match(output, /21 70\r\n/);
    assert.match(output, /hi-from-grpc/);
    assert.equal(exit, 5);
  });

  describe("refusals, answered before switching protocols", () => {
    it("answers a plain GET 426 with Upgrade: websocket", async () => {
      const reply = (await rawExchange(socketPath, "GET /api/v1/shell HTTP/1.1\r\nHost: localhost\r\n\r\n")).data;
      assert.match(reply, /^HTTP\/1.1 426 /);
      assert.match(reply, /\r\nUpgrade: websocket\r\n/i);
      assert.match(reply, /"code":"upgrade_required"/);
    });

    it("refuses a bad size, a missing directory and a foreign Origin with the Host API's JSON errors", async () => {
      const cases: [string, string, RegExp][] = [
        ["/api/v1/shell?cols=0", "", /^HTTP\/1.1 400 [^]*"code":"invalid_argument"/],
        ["/api/v1/shell?rows=abc", "", /^HTTP\/1.1 400 [^]*"code":"invalid_argument"/],
        ["/api/v1/shell?cwd=/no/such/dir", "", /^HTTP\/1.1 404 [^]*"code":"path_not_found"/],
        ["/api/v1/shell", "Origin: http://evil.example\r\n", /^HTTP\/1.1 403 [^]*"code":"forbidden"/],
      ];
      for (const [path, extra, expected] of cases) assert.match((await rawExchange(socketPath, upgradeRequest(path, extra))).data, expected, path);
      await assert.rejects(WsSession.open(shellUrl("?cols=0")), (err: unknown) => err instanceof RefusedUpgrade && err.status === 400);
    });

    it("answers a handshake without a proper key 400, and starts no shell for it", async () => {
      const before = shellsOf(daemon.child.pid ?? 0).length;
      const reply = (await rawExchange(socketPath, upgradeRequest("/api/v1/shell").replace(KEY, "short"))).data;
      assert.match(reply, /^HTTP\/1.1 400 [^]*"code":"bad_handshake"/);
      assert.equal(shellsOf(daemon.child.pid ?? 0).length, before);
    });
  });

  it("opens and closes 100 shells at once without leaking PTYs, descriptors, processes or memory", async function () {
    this.timeout(120_000);
    const pid = daemon.child.pid ?? 0;
    const round = async (): Promise<void> => {
      const shells = await Promise.all(Array.from({ length: 100 }, () => WsSession.open(shellUrl())));
      await Promise.all(shells.map((shell, i) => (shell.send(Buffer.from(`echo ready-${i}-$((1+1))\n`)), shell.waitForOutput(new RegExp(`ready-${i}-2`), 0, 60_000))));
      assert.ok(shellsOf(pid).length >= 100, "a shell process each");
      for (const shell of shells) shell.ws.close();
      await Promise.all(shells.map((shell) => shell.waitForClose()));
      await waitFor("every shell to be gone", () => shellsOf(pid).length === 0, 20_000);
    };
    const fds = fdCount(pid);
    await round();
    await fdsBackTo(pid, fds, 2, 20_000);
    const rss = rssBytes(pid);
    await round();
    await fdsBackTo(pid, fds, 2, 20_000);
    const growth = rssBytes(pid) - rss;
    assert.ok(growth < 24 * MiB, `the daemon grew ${(growth / MiB).toFixed(1)} MiB over a second round of 100 shells`);
  });
});
