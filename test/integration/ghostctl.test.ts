import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { composeManifest, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";

const GHOSTCTL = join(packageRoot, "cli", "ghostctl");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs cli/ghostctl as a user would; with `closeStdout`, its reader goes away before it writes. */
function ghostctl(args: readonly string[], options: { home?: string; closeStdout?: boolean } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.GHOSTD_HOME;
    delete env.GHOSTD_TARGET;
    const child = spawn(GHOSTCTL, options.home ? ["--home", options.home, ...args] : [...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

describe("ghostctl", function () {
  this.timeout(30_000);

  it("runs from a fresh clone's cli/ghostctl at once, with no npm in between", async () => {
    const run = await ghostctl(["--version"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.ok(run.ms < 5000, `took ${run.ms} ms`);
  });

  it("ends quietly when its reader closes the pipe", async () => {
    const run = await ghostctl(["services"], { closeStdout: true });
    assert.equal(run.stderr, "", "no stack trace");
    assert.equal(run.code, 0);
  });

  it("says the daemon is not running, where, and how to start one", async () => {
    const home = tempDir();
    try {
      const run = await ghostctl(["status"], { home: home.path });
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `ghostctl: ghostd is not running on unix:${join(home.path, "run", "ghostd.sock")}; start it with "npm start" in the ghostd checkout (or "ghostd serve"), or point ghostctl at a running one with --home DIR or --target ADDRESS\n`,
      );
    } finally {
      home.remove();
    }
  });

  it("says what is wrong with a --target that does not parse, in one line", async () => {
    const run = await ghostctl(["--target", "unix:", "status"]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "ghostctl: target unix:: the socket path must be absolute\n");
  });

  describe("against a daemon", () => {
    let daemon: DaemonProcess;
    let work: ReturnType<typeof tempDir>;
    before(async () => {
      work = tempDir();
      daemon = await spawnDaemon({ args: ["--log-level", "warn"] });
    });
    after(async () => {
      await daemon.stop();
      daemon.cleanup();
      work.remove();
    });

    it("names the gRPC code and the seed's reason of a failed call, not numbers", async () => {
      const missing = await ghostctl(["status", "nosuch"], { home: daemon.home });
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, "ghostctl: no project nosuch (NOT_FOUND)\n");

      const pkg = writePackage(work.path, { "vibe.yaml": composeManifest("dev.test.cli"), "compose.yaml": "services:\n  app:\n    command: [sleep, '1000']\n" });
      const ensured = await ghostctl(["ensure", "cli", pkg], { home: daemon.home });
      assert.equal(ensured.code, 0, ensured.stderr);
      const notOpen = await ghostctl(["start", "cli"], { home: daemon.home });
      assert.equal(notOpen.code, 1);
      assert.equal(notOpen.stderr, "ghostctl: project cli is not open; call OpenProject first (FAILED_PRECONDITION, NOT_OPEN)\n");
    });
  });
});
