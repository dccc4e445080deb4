import { GuestAgentClient, type ExecStreamResponse } from "../../generated/ghostd/agent/v1/agent";
import { credentials } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";
import { processStart } from "../../server/proc";
import { runGhostd, spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { HostApi, rawExchange } from "../helpers/host-api";
import { ndjson } from "../helpers/http";
import { TerminalApi } from "../helpers/terminal-api";
import { tempDir } from "../helpers/tmp";
import { program, requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

const execFileAsync = promisify(execFile);
const GHOSTCTL = join(packageRoot, "dist", "cli", "ghostctl.js");

/** The pid a command wrote to a file, once it is there. */
function pidIn(file: string): Promise<number> {
  return waitFor(`a pid in ${file}`, () => (existsSync(file) ? Number(readFileSync(file, "utf8")) || undefined : undefined), 2000);
}

/** SIGKILL, for a test's leftovers: a process already gone is fine. */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already, as it should be.
  }
}

/** Processes whose command line contains a marker, from /proc. */
function processesWith(marker: string): number[] {
  const out = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
  return out.stdout.split("\n").filter(Boolean).map(Number);
}

function desktopEntry(dir: string, id: string, exec: string, name = id): void {
  mkdirSync(join(dir, "applications"), { recursive: true });
  writeFileSync(join(dir, "applications", `${id}.desktop`), `[Desktop Entry]\nType=Application\nName=${name}\nExec=${exec}\n`);
}

describe("Host API and guest agent", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-agent-home-");
  const data = join(home.path, "data");
  const opened = join(home.path, "opened.log");
  const opener = join(home.path, "opener.sh");
  let daemon: DaemonProcess;
  let api: HostApi;

  before(async () => {
    writeFileSync(opener, `#!/bin/sh\necho "$@" >> ${opened}\n`, { mode: 0o755 });
    desktopEntry(data, "org.example.Sleeper", "/bin/sleep 1001 %f", "Sleeper");
    desktopEntry(data, "org.example.Napper", "/bin/sleep 1002", "Napper");
    desktopEntry(data, "org.example.Stubborn", `/bin/sh -c "trap '' TERM; exec /bin/sleep 1003"`, "Stubborn");
    const viewer = join(home.path, "viewer.sh");
    writeFileSync(viewer, `#!/bin/sh\necho "viewing $1" >> ${opened}\nexec /bin/sleep 1004\n`, { mode: 0o755 });
    desktopEntry(data, "org.example.Viewer", `${viewer} %f`, "Viewer");
    daemon = await spawnDaemon({
      args: ["--http", "127.0.0.1:0", "--exec-output-limit", "64k"],
      env: { HOME: home.path, XDG_DATA_HOME: data, GHOSTD_OPENER: opener, DISPLAY: "" },
    });
    api = new HostApi(daemon.endpoints.host_api.local ?? "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  describe("health", () => {
    /** The agent's exec host: the daemon's child running exec-host/main.js. */
    const execHostPid = (): number | undefined => {
      const children = readFileSync(`/proc/${daemon.child.pid}/task/${daemon.child.pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
      return children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("exec-host"));
    };

    it("says ok only once the exec host answers, starting one again when it was killed", async () => {
      assert.equal((await api.get("/health")).json<{ status: string }>().status, "ok");
      const first = execHostPid();
      assert.ok(first, "an exec host runs once /health said ok");
      process.kill(first, "SIGKILL");
      await waitFor("the killed exec host to be reaped", () => !existsSync(`/proc/${first}`));
      const reply = await api.get("/health");
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json<{ status: string }>().status, "ok");
      const second = execHostPid();
      assert.ok(second !== undefined && second !== first, `a new exec host (${second ?? "none"}) answered for the killed ${first}`);
      assert.equal((await api.exec({ command: "true" })).json<{ exitCode: number }>().exitCode, 0);
    });
  });

  describe("the seed's examples", () => {
    it("runs `uname -a` with the seed's curl command", async () => {
      const { stdout } = await execFileAsync("curl", [
        "--unix-socket", api.socketPath, "-X", "POST", "-H", "Content-Type: application/json", "-d", '{"command":"uname","args":["-a"]}', "http://localhost/api/v1/exec",
      ]);
      const result = JSON.parse(stdout) as { exitCode: number; stdout: string; stderr: string };
      assert.equal(result.exitCode, 0);
      assert.match(result.stdout, /^Linux /);
      assert.equal(result.stderr, "");
    });
  });

  describe("exec", () => {
    it("runs without a shell, finding bare names on PATH, with args, cwd, env and stdin", async () => {
      const reply = await api.exec({ command: "sh", args: ["-c", 'echo "$GREETING from $(pwd)"; cat; echo oops >&2; exit 3'], cwd: "/tmp", env: { GREETING: "hello" }, stdin: "piped in\n" });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json(), { exitCode: 3, stdout: "hello from /tmp\npiped in\n", stderr: "oops\n", truncated: false, stdoutEncoding: "utf-8", stderrEncoding: "utf-8" });
      const literal = await api.exec({ command: "/bin/echo", args: ["$HOME", "*", "a b"] });
      assert.equal(literal.json().stdout, "$HOME * a b\n", "no shell expands anything");
      assert.equal((await api.exec({ command: "pwd" })).json().stdout, `${home.path}\n`, "commands start in the agent user's home");
    });

    it("kills the whole process group after the timeout and answers 408", async () => {
      const marker = "1017.5";
      const started = Date.now();
      const reply = await api.exec({ command: "sh", args: ["-c", `sleep ${marker} & sleep ${marker}`], timeout: 0.5 });
      assert.equal(reply.status, 408);
      assert.equal(reply.json().code, "exec_timeout");
      assert.ok(Date.now() - started < 5000);
      await waitFor("the command's processes to be gone", () => processesWith(`sleep ${marker}`).length === 0);
    });

    it("runs a 70 s command under a 120 s timeout to its end: no read or socket timeout on the way cuts it", async function () {
      this.timeout(150_000);
      const started = Date.now();
      const reply = await api.exec({ command: "/bin/bash", args: ["-lc", "sleep 70; echo done"], timeout: 120 });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.json<{ exitCode: number; stdout: string }>(), { ...reply.json(), exitCode: 0, stdout: "done\n" });
      assert.ok(Date.now() - started >= 70_000, "it ran its whole 70 s");
    });

    describe("a descendant that leaves the process group and session", () => {
      // `setsid sh -c 'echo $$ > file; exec sleep 30'`: a process in a session of its own whose pid
      // the test can read; without redirections it keeps the command's stdout and stderr open.
      const escapee = (file: string, redirect = "") => `setsid sh -c 'echo $$ > ${file}; exec sleep 30' ${redirect} &`;
      let pidFile: string;
      let n = 0;
      beforeEach(() => {
        pidFile = join(home.path, `escapee-${n++}.pid`);
      });
      afterEach(() => {
        if (existsSync(pidFile)) killQuietly(Number(readFileSync(pidFile, "utf8")));
      });
      const gone = (pid: number) => waitFor(`process ${pid} to be gone`, () => processStart(pid) === 0, 1000);

      it("does not hold the answer past the timeout while it keeps stdout open, and is killed", async () => {
        const started = Date.now();
        const reply = await api.exec({ command: "/bin/sh", args: ["-c", `${escapee(pidFile)} echo started; sleep 30`], timeout: 2 });
        const ms = Date.now() - started;
        assert.deepEqual([reply.status, reply.json().code], [408, "exec_timeout"]);
        assert.ok(ms < 3500, `the 408 came ${ms} ms after the request, for a 2 s timeout`);
        await gone(await pidIn(pidFile));
      });

      it("bounds the answer by the timeout when the command exits but the descendant holds its output", async () => {
        const started = Date.now();
        const reply = await api.exec({ command: "/bin/sh", args: ["-c", escapee(pidFile)], timeout: 1 });
        const ms = Date.now() - started;
        assert.deepEqual([reply.status, reply.json().code], [408, "exec_timeout"]);
        assert.ok(ms < 2500, `the 408 came ${ms} ms after the request, for a 1 s timeout`);
        await gone(await pidIn(pidFile));
      });

      it("kills at the timeout one whose parent is gone and whose output is elsewhere", async () => {
        // The subshell exits at once, so the escapee is an orphan of another session, holding no pipe.
        const reply = await api.exec({ command: "/bin/sh", args: ["-c", `(${escapee(pidFile, "</dev/null >/dev/null 2>&1")}); sleep 30`], timeout: 1 });
        assert.deepEqual([reply.status, reply.json().code], [408, "exec_timeout"]);
        await gone(await pidIn(pidFile));
      });

      it("is left running when the command ends before its timeout with its output closed (a daemon)", async () => {
        const reply = await api.exec({ command: "/bin/sh", args: ["-c", escapee(pidFile, "</dev/null >/dev/null 2>&1")], timeout: 5 });
        assert.deepEqual([reply.status, reply.json().exitCode], [200, 0]);
        const pid = await pidIn(pidFile);
        assert.notEqual(processStart(pid), 0, "the daemon the command started still runs");
      });

      it("ends an ExecStream at its timeout too, and is killed", async () => {
        const client = new GuestAgentClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
        const started = Date.now();
        const error = await new Promise<Error & { code?: number }>((resolve, reject) => {
          const stream = client.execStream({ command: "/bin/sh", args: ["-c", `${escapee(pidFile)} echo started; sleep 30`], timeout: 1, env: {} });
          stream.on("data", () => undefined);
          stream.on("error", resolve);
          stream.on("end", () => reject(new Error("the stream ended without an error")));
        });
        const ms = Date.now() - started;
        client.close();
        assert.equal(error.code, 4, `DEADLINE_EXCEEDED, not: ${error.message}`);
        assert.ok(ms < 2500, `the stream ended ${ms} ms after the request, for a 1 s timeout`);
        await gone(await pidIn(pidFile));
      });
    });

    it("says how each output stream is written, and gives the exact bytes in base64 when asked", async () => {
      const invalid = ["-c", "printf 'ok\\377\\376\\n'; printf 'caf\\303\\251' >&2"];
      const lossy = await api.exec({ command: "/bin/sh", args: invalid });
      assert.equal(lossy.status, 200);
      assert.deepEqual(lossy.json(), { exitCode: 0, stdout: "ok\ufffd\ufffd\n", stderr: "café", truncated: false, stdoutEncoding: "utf-8-lossy", stderrEncoding: "utf-8" });
      const exact = await api.exec({ command: "/bin/sh", args: invalid, outputEncoding: "base64" });
      const body = exact.json<{ stdout: string; stderr: string; stdoutEncoding: string; stderrEncoding: string }>();
      assert.deepEqual([body.stdoutEncoding, body.stderrEncoding], ["base64", "base64"]);
      assert.deepEqual(Buffer.from(body.stdout, "base64"), Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0x0a]));
      assert.equal(Buffer.from(body.stderr, "base64").toString(), "café");
      const text = await api.exec({ command: "printf", args: ["\ufeffhéllo"], outputEncoding: "utf-8" });
      assert.deepEqual([text.json().stdout, text.json().stdoutEncoding], ["\ufeffhéllo", "utf-8"], "valid UTF-8, a byte order mark included, comes back as it was");
      const wrong = await api.exec({ command: "true", outputEncoding: "latin1" });
      assert.deepEqual([wrong.status, wrong.json().code], [400, "invalid_json"]);
      const lossyAsked = await api.exec({ command: "true", outputEncoding: "utf-8-lossy" });
      assert.deepEqual([lossyAsked.status, lossyAsked.json().code], [400, "invalid_argument"], "utf-8-lossy describes a response; a request asks for utf-8 or base64");
    });

    it("does not call a stream cut at the limit in the middle of a character lossy", async () => {
      // 65,535 bytes of "a", then "é" (two bytes): the 64 KiB limit falls between the two.
      const reply = await api.exec({ command: "/bin/sh", args: ["-c", "head -c 65535 /dev/zero | tr '\\0' a; printf '\\303\\251'"] });
      const body = reply.json<{ stdout: string; truncated: boolean; stdoutEncoding: string }>();
      assert.deepEqual([body.truncated, body.stdoutEncoding, body.stdout.length, body.stdout.at(-1)], [true, "utf-8", 65535, "a"]);
      const exact = await api.exec({ command: "/bin/sh", args: ["-c", "head -c 65535 /dev/zero | tr '\\0' a; printf '\\303\\251'"], outputEncoding: "base64" });
      const bytes = Buffer.from(exact.json<{ stdout: string }>().stdout, "base64");
      assert.deepEqual([bytes.length, bytes.at(-1)], [65536, 0xc3], "base64 keeps every byte up to the limit");
    });

    it("explains that exec runs no shell when the command is a command line", async () => {
      const line = await api.exec({ command: "ls -la /tmp | head -2" });
      assert.deepEqual([line.status, line.json().code], [404, "command_not_found"]);
      assert.equal(
        line.json().error,
        '"ls -la /tmp | head -2" is not a program: exec runs one program without a shell; pass arguments in "args", or run it through a shell: {"command": "/bin/sh", "args": ["-c", "ls -la /tmp | head -2"]}',
      );
      const bare = await api.exec({ command: "echo $HOME" });
      assert.deepEqual([bare.status, bare.json().code], [404, "command_not_found"]);
      assert.match(String(bare.json().error), /^"echo \$HOME" is not a program: exec runs one program without a shell/);
      const spaced = join(home.path, "my tool");
      writeFileSync(spaced, "#!/bin/sh\necho \"spaced $1\"\n", { mode: 0o755 });
      const real = await api.exec({ command: spaced, args: ["ok"] });
      assert.deepEqual([real.status, real.json().stdout], [200, "spaced ok\n"], "a program whose name has a space still runs");
    });

    it("cuts output over the limit and says so", async () => {
      const reply = await api.exec({ command: "head", args: ["-c", "200000", "/dev/zero"] });
      const body = reply.json<{ stdout: string; truncated: boolean; exitCode: number }>();
      assert.equal(body.exitCode, 0);
      assert.equal(body.truncated, true);
      assert.equal(body.stdout.length, 64 * 1024);
    });

    it("answers a clear error for a missing or unrunnable executable, or a missing cwd", async () => {
      const missing = await api.exec({ command: "no-such-command-here" });
      assert.deepEqual([missing.status, missing.json().code], [404, "command_not_found"]);
      assert.match(String(missing.json().error), /no-such-command-here.*PATH/);
      assert.deepEqual((await api.exec({ command: "/no/such/file" })).status, 404);
      const notExecutable = join(home.path, "plain.txt");
      writeFileSync(notExecutable, "not a program");
      const denied = await api.exec({ command: notExecutable });
      assert.deepEqual([denied.status, denied.json().code], [403, "not_executable"]);
      const cwd = await api.exec({ command: "true", cwd: "/no/such/dir" });
      assert.deepEqual([cwd.status, cwd.json().code], [404, "path_not_found"]);
    });

    it("streams output as NDJSON with ?stream=1 or Accept: application/x-ndjson", async () => {
      const request = { command: "sh", args: ["-c", "echo one; echo two >&2; exit 4"] };
      for (const [path, headers] of [
        ["/api/v1/exec?stream=1", {}],
        ["/api/v1/exec", { Accept: "application/x-ndjson" }],
      ] as const) {
        const reply = await api.send("POST", path, request, headers);
        assert.match(String(reply.headers["content-type"]), /application\/x-ndjson/);
        const lines = ndjson(reply) as { result: { stdout?: string; stderr?: string; exitCode?: number } }[];
        const decode = (key: "stdout" | "stderr") => lines.map((l) => l.result[key]).filter(Boolean).map((b) => Buffer.from(b ?? "", "base64").toString()).join("");
        assert.equal(decode("stdout"), "one\n");
        assert.equal(decode("stderr"), "two\n");
        assert.deepEqual(lines.at(-1), { result: { exitCode: 4 } });
      }
    });

    it("streams over gRPC as the output comes, then the exit code", async () => {
      const client = new GuestAgentClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
      const events: ExecStreamResponse[] = [];
      const firstAt: number[] = [];
      const started = Date.now();
      await new Promise<void>((resolve, reject) => {
        const stream = client.execStream({ command: "sh", args: ["-c", "echo early; sleep 0.5; echo late"], env: {} });
        stream.on("data", (event: ExecStreamResponse) => {
          if (events.length === 0) firstAt.push(Date.now() - started);
          events.push(event);
        });
        stream.on("error", reject);
        stream.on("end", resolve);
      });
      client.close();
      assert.equal(Buffer.from(events[0]?.stdout ?? Buffer.alloc(0)).toString(), "early\n");
      assert.ok((firstAt[0] ?? 9999) < 450, `the first chunk came after ${firstAt[0] ?? "never"} ms, before the command ended`);
      assert.equal(events.at(-1)?.exitCode, 0);
    });

    it("refuses bad input with the Host API's JSON errors and stays up", async () => {
      const cases: [string | Buffer, number, string][] = [
        ["{not json", 400, "invalid_json"],
        ['{"command": 5}', 400, "invalid_json"],
        ['{"command": "ls", "args": "-la"}', 400, "invalid_json"],
        ['{"command": "ls", "timeout": "soon"}', 400, "invalid_json"],
        ['{"args": ["x"]}', 400, "missing_field"],
        ['{"command": "true", "timeout": -1}', 400, "invalid_argument"],
        ["[]", 400, "invalid_json"],
        [JSON.stringify({ command: "x".repeat(2 * 1024 * 1024) }), 413, "payload_too_large"],
      ];
      for (const [body, status, code] of cases) {
        const reply = await api.send("POST", "/api/v1/exec", body, { "Content-Type": "application/json" });
        assert.deepEqual([reply.status, reply.json().code], [status, code], String(body).slice(0, 60));
        assert.equal(typeof reply.json().error, "string");
      }
      assert.equal((await api.get("/health")).status, 200);
    });
  });

  describe("bad input on every endpoint that takes JSON", () => {
    // Each JSON route with a field of the wrong type and a required field left out.
    const routes: [string, Record<string, unknown>, string][] = [
      ["/api/v1/exec", { command: ["ls"] }, "command"],
      ["/api/v1/exec/stream", { command: { name: "ls" } }, "command"],
      ["/api/v1/open", { path: 7 }, "path"],
      ["/api/v1/files", { paths: "one" }, "paths"],
      ["/api/v1/fs/mkdir", { path: "/tmp/x", parents: "yes" }, "path"],
      ["/api/v1/fs/delete", { path: "/tmp/x", recursive: 1.5 }, "path"],
      ["/api/v1/fs/move", { from: "/a", to: false }, "from"],
      ["/api/v1/apps/launch", { bundleId: 1 }, "bundleId"],
      ["/api/v1/apps/activate", { bundleId: null, extra: [] }, "bundleId"],
      ["/api/v1/apps/quit", { bundleId: {} }, "bundleId"],
    ];
    for (const [path, wrongType, required] of routes) {
      it(`POST ${path}: invalid JSON, wrong types, missing fields and huge bodies are refused`, async () => {
        const broken = await api.send("POST", path, "{oops", { "Content-Type": "application/json" });
        assert.deepEqual([broken.status, broken.json().code], [400, "invalid_json"]);
        const typed = await api.send("POST", path, wrongType);
        assert.equal(typed.status, 400, typed.text);
        assert.ok(["invalid_json", "missing_field"].includes(String(typed.json().code)), typed.text);
        const missing = await api.send("POST", path, {});
        assert.deepEqual([missing.status, missing.json().code], [400, "missing_field"]);
        assert.match(String(missing.json().error), new RegExp(required));
        const huge = await api.send("POST", path, { [required]: "x".repeat(1_200_000) });
        assert.deepEqual([huge.status, huge.json().code], [413, "payload_too_large"]);
        assert.equal(huge.headers.connection, "close");
      });
    }

    it("is still up and answering after all of it", async () => {
      assert.equal((await api.get("/health")).json().status, "ok");
    });
  });

  describe("filesystem", () => {
    it("lists a directory sorted by name, with ~ expanded", async () => {
      const dir = join(home.path, "listing");
      mkdirSync(join(dir, "sub"), { recursive: true });
      writeFileSync(join(dir, "b.txt"), "12345");
      writeFileSync(join(dir, "a.txt"), "");
      const reply = await api.get("/api/v1/fs?path=~/listing");
      const body = reply.json<{ path: string; entries: { name: string; isDir: boolean; size: number; modified: number }[] }>();
      assert.equal(body.path, dir);
      assert.deepEqual(body.entries.map((e) => [e.name, e.isDir]), [["a.txt", false], ["b.txt", false], ["sub", true]]);
      const b = body.entries[1];
      assert.ok(b);
      assert.equal(b.size, 5);
      assert.ok(Math.abs(b.modified - Date.now() / 1000) < 60, "modified is epoch seconds");
      assert.equal((await api.get("/api/v1/fs?path=~")).json().path, home.path);
    });

    it("answers 404 for a missing path, 400 for a file, 400 without a path", async () => {
      const missing = await api.get("/api/v1/fs?path=/no/such/dir");
      assert.deepEqual([missing.status, missing.json().code], [404, "path_not_found"]);
      const file = await api.get("/api/v1/fs?path=/etc/hostname");
      assert.deepEqual([file.status, file.json().code], [400, "not_a_directory"]);
      const none = await api.get("/api/v1/fs");
      assert.deepEqual([none.status, none.json().code], [400, "missing_field"]);
    });

    it("makes, moves and deletes paths", async () => {
      const made = await api.send("POST", "/api/v1/fs/mkdir", { path: "~/work/deep/er", parents: true });
      assert.deepEqual(made.json(), { ok: true, path: join(home.path, "work", "deep", "er") });
      assert.deepEqual((await api.send("POST", "/api/v1/fs/mkdir", { path: "~/work" })).json().code, "already_exists");
      writeFileSync(join(home.path, "work", "note.txt"), "n");
      writeFileSync(join(home.path, "work", "other.txt"), "o");
      const clash = await api.send("POST", "/api/v1/fs/move", { from: "~/work/note.txt", to: "~/work/other.txt" });
      assert.deepEqual([clash.status, clash.json().code], [409, "already_exists"]);
      assert.deepEqual((await api.send("POST", "/api/v1/fs/move", { from: "~/work/note.txt", to: "~/work/other.txt", overwrite: true })).json(), { ok: true });
      assert.equal(readFileSync(join(home.path, "work", "other.txt"), "utf8"), "n");
      const notEmpty = await api.send("POST", "/api/v1/fs/delete", { path: "~/work" });
      assert.deepEqual([notEmpty.status, notEmpty.json().code], [400, "directory_not_empty"]);
      assert.deepEqual((await api.send("POST", "/api/v1/fs/delete", { path: "~/work", recursive: true })).json(), { ok: true });
      assert.ok(!existsSync(join(home.path, "work")));
      assert.equal((await api.send("POST", "/api/v1/fs/delete", { path: "~/work" })).status, 404);
      assert.equal((await api.send("POST", "/api/v1/fs/delete", { path: "/" })).json().code, "invalid_argument");
    });

    it("uploads and downloads files as raw bytes", async () => {
      const bytes = Buffer.from([0, 1, 2, 250, 251, 255, 10, 13]);
      const upload = await api.send("PUT", "/api/v1/files/~/transfer/blob.bin?parents=true", bytes, { "Content-Type": "application/octet-stream" });
      assert.deepEqual(upload.json(), { path: join(home.path, "transfer", "blob.bin"), size: bytes.length });
      const download = await api.get("/api/v1/files/~/transfer/blob.bin");
      assert.equal(download.headers["content-type"], "application/octet-stream");
      assert.ok(download.body.equals(bytes));
      const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0x61);
      await api.send("PUT", "/api/v1/files/~/transfer/big.txt", big, { "Content-Type": "text/plain" });
      const bigDownload = await api.get(`/api/v1/files${join(home.path, "transfer", "big.txt")}`);
      assert.equal(bigDownload.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(bigDownload.body.length, big.length);
      writeFileSync(join(home.path, "empty.txt"), "");
      const empty = await api.get("/api/v1/files/~/empty.txt");
      assert.deepEqual([empty.status, empty.body.length], [200, 0]);
      assert.deepEqual((await api.get("/api/v1/files/~/transfer")).json().code, "is_a_directory");
      assert.deepEqual((await api.get("/api/v1/files/~/nope.txt")).json().code, "path_not_found");
      const noParent = await api.send("PUT", "/api/v1/files/~/missing-dir/x.txt", "x", { "Content-Type": "text/plain" });
      assert.deepEqual([noParent.status, noParent.json().code], [404, "path_not_found"]);
    });
  });

  describe("ports", () => {
    const listed = async (): Promise<number[]> => {
      const reply = await api.get("/api/v1/ports");
      assert.equal(reply.status, 200);
      const { ports } = reply.json<{ ports: number[] }>();
      assert.deepEqual(ports, [...new Set(ports)].sort((a, b) => a - b), "each port once, ascending");
      return ports;
    };

    it("lists the guest's listening TCP ports, the daemon's own among them, as a port opens and closes", async () => {
      const httpPort = Number(new URL(daemon.endpoints.http ?? "").port);
      assert.ok((await listed()).includes(httpPort), "the daemon's HTTP listener");
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      assert.ok((await listed()).includes(port), `${port} once it listens`);
      const client = new GuestAgentClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
      const overGrpc = await new Promise<number[]>((resolve, reject) => client.listPorts({}, (err, reply) => (err ? reject(err) : resolve(reply.ports))));
      client.close();
      assert.ok(overGrpc.includes(port), "over gRPC too");
      await new Promise<void>((resolve) => server.close(() => resolve()));
      assert.ok(!(await listed()).includes(port), `${port} once it is closed`);
    });
  });

  describe("clipboard", () => {
    it("answers 204 while empty, then keeps raw bytes and their type", async () => {
      const fresh = await api.get("/api/v1/clipboard");
      assert.equal(fresh.status, 204);
      const bytes = Buffer.from([137, 80, 78, 71, 0, 255]);
      assert.deepEqual((await api.send("POST", "/api/v1/clipboard", bytes, { "X-Clipboard-Type": "public.png", "Content-Type": "application/octet-stream" })).json(), { ok: true });
      const reply = await api.get("/api/v1/clipboard");
      assert.equal(reply.status, 200);
      assert.equal(reply.headers["content-type"], "application/octet-stream");
      assert.equal(reply.headers["x-clipboard-type"], "public.png");
      assert.ok(reply.body.equals(bytes));
    });

    it("takes JSON {content, type} too, and refuses wrong types", async () => {
      await api.send("POST", "/api/v1/clipboard", { content: "from json" });
      const reply = await api.get("/api/v1/clipboard");
      assert.equal(reply.text, "from json");
      assert.equal(reply.headers["x-clipboard-type"], "public.utf8-plain-text");
      const bad = await api.send("POST", "/api/v1/clipboard", { content: 42 });
      assert.deepEqual([bad.status, bad.json().code], [400, "invalid_json"]);
      const header = await api.send("POST", "/api/v1/clipboard", "x", { "X-Clipboard-Type": "bad type with spaces" });
      assert.deepEqual([header.status, header.json().code], [400, "invalid_argument"]);
    });

    it("shares one clipboard with the terminals", async () => {
      const terminals = new TerminalApi(daemon.endpoints.http ?? "");
      const t = await terminals.create({});
      await terminals.input(t.id, "clear; echo shared-clip");
      await terminals.wait(t.id, "^shared-clip$");
      await terminals.action(t.id, "select_all");
      await terminals.action(t.id, "copy_to_clipboard");
      assert.match((await api.get("/api/v1/clipboard")).text, /shared-clip/);
      await terminals.close(t.id);
    });
  });

  describe("file queue", () => {
    it("lists what ghostctl share queued, clears it, and keeps it across a restart", async () => {
      const file = join(home.path, "share-me.txt");
      writeFileSync(file, "for the host");
      const { stdout } = await execFileAsync(process.execPath, [GHOSTCTL, "--home", daemon.home, "share", file]);
      assert.deepEqual(JSON.parse(stdout), { files: [file] });
      assert.deepEqual((await api.get("/api/v1/files")).json(), { files: [file] });
      const missing = await execFileAsync(process.execPath, [GHOSTCTL, "--home", daemon.home, "share", "/no/such/file"]).catch((err: unknown) => err);
      assert.equal((missing as { code?: number }).code, 1);
      assert.deepEqual(await api.send("DELETE", "/api/v1/files").then((r) => r.json()), { ok: true });
      assert.deepEqual((await api.get("/api/v1/files")).json(), { files: [] });
      const queued = await api.send("POST", "/api/v1/files", { paths: [file, file, "~/share-me.txt"] });
      assert.deepEqual(queued.json(), { files: [file] }, "a file is queued once");
      await api.send("DELETE", "/api/v1/files");
    });

    it("survives an agent restart", async () => {
      const dir = tempDir();
      const file = join(dir.path, "kept.txt");
      writeFileSync(file, "k");
      const first = await spawnDaemon({ home: dir.path, args: ["--http", "off"] });
      await new HostApi(first.endpoints.host_api.local ?? "").send("POST", "/api/v1/files", { paths: [file] });
      assert.equal(await first.stop(), 0);
      const second = await spawnDaemon({ home: dir.path, args: ["--http", "off"] });
      assert.deepEqual((await new HostApi(second.endpoints.host_api.local ?? "").get("/api/v1/files")).json(), { files: [file] });
      await second.stop();
      dir.remove();
    });
  });

  describe("open", () => {
    it("opens an existing path with the guest's opener, or with an app", async () => {
      const file = join(home.path, "to-open.txt");
      writeFileSync(file, "o");
      assert.deepEqual((await api.send("POST", "/api/v1/open", { path: "~/to-open.txt" })).json(), { ok: true });
      await waitFor("the opener to run", () => existsSync(opened) && readFileSync(opened, "utf8").includes(file));
      const missing = await api.send("POST", "/api/v1/open", { path: "~/nothing-here" });
      assert.deepEqual([missing.status, missing.json().code], [404, "path_not_found"]);
      await api.send("POST", "/api/v1/open", { path: file, app: "org.example.Viewer" });
      await waitFor("the app to open the file", () => readFileSync(opened, "utf8").includes(`viewing ${file}`));
      await api.send("POST", "/api/v1/apps/quit", { bundleId: "org.example.Viewer" });
    });

    it("says when the guest has no opener", async () => {
      const bare = await spawnDaemon({ args: ["--http", "off"], env: { PATH: "/nonexistent", GHOSTD_OPENER: "" } });
      const reply = await new HostApi(bare.endpoints.host_api.local ?? "").send("POST", "/api/v1/open", { path: "/tmp" });
      assert.deepEqual([reply.status, reply.json().code], [400, "no_opener"]);
      await bare.stop();
      bare.cleanup();
    });
  });

  describe("apps", () => {
    it("launches desktop entries, tracks them, brings one to the front and quits it", async () => {
      assert.deepEqual((await api.get("/api/v1/apps")).json(), { apps: [] });
      const none = await api.get("/api/v1/apps/frontmost");
      assert.deepEqual([none.status, none.json().code], [404, "no_frontmost_app"]);
      assert.deepEqual((await api.send("POST", "/api/v1/apps/launch", { bundleId: "org.example.Sleeper" })).json(), { ok: true });
      await api.send("POST", "/api/v1/apps/launch", { bundleId: "org.example.Napper" });
      const { apps } = (await api.get("/api/v1/apps")).json<{ apps: { name: string; bundleId: string; pid: number; isActive: boolean }[] }>();
      assert.deepEqual(apps.map((a) => [a.bundleId, a.name, a.isActive]).sort(), [["org.example.Napper", "Napper", true], ["org.example.Sleeper", "Sleeper", false]]);
      assert.deepEqual(processesWith("sleep 1001"), [apps.find((a) => a.bundleId === "org.example.Sleeper")?.pid]);
      assert.deepEqual((await api.get("/api/v1/apps/frontmost")).json(), { bundleId: "org.example.Napper" });
      await api.send("POST", "/api/v1/apps/activate", { bundleId: "org.example.Sleeper" });
      assert.deepEqual((await api.get("/api/v1/apps/frontmost")).json(), { bundleId: "org.example.Sleeper" });
      assert.deepEqual((await api.send("POST", "/api/v1/apps/quit", { bundleId: "org.example.Sleeper" })).json(), { ok: true });
      assert.deepEqual(processesWith("sleep 1001"), []);
      assert.deepEqual((await api.get("/api/v1/apps/frontmost")).json(), { bundleId: "org.example.Napper" });
      await api.send("POST", "/api/v1/apps/quit", { bundleId: "org.example.Napper" });
      assert.deepEqual((await api.get("/api/v1/apps")).json(), { apps: [] });
    });

    it("kills an app that ignores SIGTERM after the grace period", async function () {
      this.timeout(20_000);
      await api.send("POST", "/api/v1/apps/launch", { bundleId: "org.example.Stubborn" });
      await waitFor("the stubborn app to run", () => processesWith("sleep 1003").length === 1);
      assert.deepEqual((await api.send("POST", "/api/v1/apps/quit", { bundleId: "org.example.Stubborn" })).json(), { ok: true });
      assert.deepEqual(processesWith("sleep 1003"), []);
    });

    it("answers 404 for an unknown bundle id and 400 for a malformed one", async () => {
      for (const path of ["/api/v1/apps/launch", "/api/v1/apps/activate", "/api/v1/apps/quit"]) {
        const unknown = await api.send("POST", path, { bundleId: "org.example.Nothing" });
        assert.deepEqual([unknown.status, unknown.json().code], [404, "app_not_found"], path);
      }
      assert.equal((await api.send("POST", "/api/v1/apps/launch", { bundleId: "../../etc/passwd" })).json().code, "invalid_argument");
      assert.equal((await api.send("POST", "/api/v1/apps/launch", {})).json().code, "missing_field");
    });
  });

  describe("the socket", () => {
    it("runs only the first of two pipelined requests on one connection", async () => {
      const marker = join(home.path, "pipelined.log");
      const body = JSON.stringify({ command: "sh", args: ["-c", `echo ran >> ${marker}`] });
      const request = `POST /api/v1/exec HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const { data } = await rawExchange(api.socketPath, request + request);
      assert.equal((data.match(/^HTTP\/1\.1 /gm) ?? []).length, 1, data);
      assert.equal(readFileSync(marker, "utf8"), "ran\n");
    });

    it("serves 1,000 concurrent connections without an error", async () => {
      const replies = await Promise.all(Array.from({ length: 1000 }, () => api.get("/health")));
      assert.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
    });

    it("replaces a stale socket, and a second gateway cannot take a live one", async () => {
      const dir = tempDir();
      const apiDir = join(dir.path, "api");
      mkdirSync(apiDir, { recursive: true, mode: 0o700 });
      await execFileAsync("python3", ["-c", `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(apiDir, "vm1.GhostVM.sock"))})`]);
      const gateway = await spawnDaemon({ mode: "gateway", home: dir.path, args: ["--target", daemon.endpoints.grpc ?? "", "--vm", "vm1", "--http", "off", "--host-api-dir", apiDir] });
      assert.equal((await new HostApi(join(apiDir, "vm1.GhostVM.sock")).get("/health")).status, 200);
      const second = await runGhostd(["gateway", "--home", dir.path, "--target", daemon.endpoints.grpc ?? "", "--vm", "vm1", "--http", "off", "--host-api-dir", apiDir]);
      assert.equal(second.code, 1);
      assert.match(second.output, /vm1\.GhostVM\.sock is already served by another process/);
      await gateway.stop();
      dir.remove();
    });
  });

  describe("several VMs and an agent that goes away", () => {
    it("serves each VM of --config on its own socket with its own guest", async () => {
      const agent = await spawnDaemon({ mode: "agent", args: ["--grpc-tcp", "127.0.0.1:0"], env: { HOME: home.path } });
      const dir = tempDir();
      const config = join(dir.path, "vms.yaml");
      writeFileSync(config, `vms:\n  - name: alpha\n    target: ${agent.endpoints.grpc ?? ""}\n  - name: beta\n    target: ${agent.endpoints.grpc_tcp ?? ""}\n`);
      const gateway = await spawnDaemon({ mode: "gateway", home: dir.path, args: ["--config", config, "--target", daemon.endpoints.grpc ?? "", "--http", "off"] });
      assert.deepEqual(Object.keys(gateway.endpoints.host_api).sort(), ["alpha", "beta", "local"]);
      for (const vm of ["alpha", "beta", "local"]) {
        const reply = await new HostApi(gateway.endpoints.host_api[vm] ?? "").exec({ command: "echo", args: [vm] });
        assert.equal(reply.json().stdout, `${vm}\n`, vm);
      }
      await gateway.stop();
      await agent.stop();
      writeFileSync(config, "vms:\n  - name: bad/name\n    target: unix:/x\n");
      const bad = await runGhostd(["gateway", "--home", dir.path, "--config", config, "--http", "off"]);
      assert.equal(bad.code, 1);
      assert.match(bad.output, /VM name "bad\/name"/);
      writeFileSync(config, "vm: []\n");
      assert.match((await runGhostd(["gateway", "--home", dir.path, "--config", config, "--http", "off"])).output, /unknown key "vm"/);
      dir.remove();
      agent.cleanup();
      gateway.cleanup();
    });

    it("answers 503 {status: unreachable} while the agent is down, and recovers when it is back", async function () {
      this.timeout(30_000);
      const agentHome = tempDir();
      let agent = await spawnDaemon({ mode: "agent", home: agentHome.path });
      const dir = tempDir();
      const gateway = await spawnDaemon({ mode: "gateway", home: dir.path, args: ["--target", agent.endpoints.grpc ?? "", "--http", "off"] });
      const health = new HostApi(gateway.endpoints.host_api.local ?? "");
      assert.equal((await health.get("/health")).status, 200);
      await agent.stop();
      const down = await waitFor("the gateway to see the agent gone", async () => {
        const reply = await health.get("/health");
        return reply.status === 503 ? reply : undefined;
      });
      assert.equal(down.json().status, "unreachable");
      assert.equal(down.json().code, "unavailable");
      agent = await spawnDaemon({ mode: "agent", home: agentHome.path });
      await waitFor("the gateway to reach the agent again", async () => (await health.get("/health")).status === 200);
      await gateway.stop();
      await agent.stop();
      dir.remove();
      agentHome.remove();
    });
  });
});

describe("Host API with a desktop (Xvfb, xclip)", function () {
  this.timeout(30_000);
  let xvfb: ChildProcess | undefined;
  let daemon: DaemonProcess | undefined;
  const display = `:${90 + (process.pid % 9)}`;

  before(async function () {
    requireTools(this, [program("Xvfb", "xvfb"), program("xclip", "xclip")]);
    xvfb = spawn("Xvfb", [display, "-nolisten", "tcp"], { stdio: "ignore" });
    await waitFor("Xvfb to take the display", () => spawnSync("xclip", ["-selection", "clipboard", "-o"], { env: { ...process.env, DISPLAY: display }, timeout: 2000 }).status !== null && existsSync(`/tmp/.X11-unix/X${display.slice(1)}`));
    daemon = await spawnDaemon({ args: ["--http", "off"], env: { DISPLAY: display } });
  });
  after(async () => {
    await daemon?.stop();
    daemon?.cleanup();
    xvfb?.kill();
  });

  it("keeps the agent's clipboard and the desktop's in step, both ways", async () => {
    const api = new HostApi(daemon?.endpoints.host_api.local ?? "");
    await api.send("POST", "/api/v1/clipboard", "from the host", { "Content-Type": "text/plain" });
    const env = { ...process.env, DISPLAY: display };
    assert.equal((await execFileAsync("xclip", ["-selection", "clipboard", "-o"], { env })).stdout, "from the host");
    const setter = spawn("xclip", ["-selection", "clipboard", "-i"], { env, stdio: ["pipe", "ignore", "ignore"] });
    setter.stdin.end("from the desktop");
    await new Promise((resolve) => setter.once("exit", resolve));
    const reply = await api.get("/api/v1/clipboard");
    assert.equal(reply.text, "from the desktop");
    assert.equal(reply.headers["x-clipboard-type"], "public.utf8-plain-text");
  });
});

describe("Host API as an unprivileged user", function () {
  this.timeout(30_000);

  it("answers 403 for a directory the agent user may not read", async () => {
    // Root reads everything, so as root the daemon drops to nobody; any other user is already one.
    const asRoot = process.getuid?.() === 0;
    const dir = tempDir();
    chmodSync(dir.path, 0o755);
    const home = join(dir.path, "home");
    mkdirSync(home);
    if (asRoot) chownSync(home, 65534, 65534);
    const secret = join(dir.path, "secret");
    mkdirSync(secret, { mode: 0o000 });
    const child = spawn(process.execPath, [join(packageRoot, "dist", "cli", "ghostd.js"), "serve", "--home", join(home, "ghostd"), "--http", "off"], {
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      env: { ...process.env, HOME: home },
      stdio: "ignore",
    });
    const endpoints = join(home, "ghostd", "run", "endpoints.json");
    await waitFor("the unprivileged daemon", () => existsSync(endpoints));
    const api = new HostApi((JSON.parse(readFileSync(endpoints, "utf8")) as { host_api: { local: string } }).host_api.local);
    const denied = await api.get(`/api/v1/fs?path=${secret}`);
    assert.deepEqual([denied.status, denied.json().code], [403, "permission_denied"]);
    const download = await api.get(`/api/v1/files${join(secret, "x")}`);
    assert.equal(download.status, 403);
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    chmodSync(secret, 0o700);
    dir.remove();
  });
});
