import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { ghostctl } from "../helpers/ghostctl";
import { composeManifest, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";

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
