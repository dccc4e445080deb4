import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { runGhostd, spawnDaemon } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** The daemon's home holds its registry, sockets and logs: no one but its owner may read them. */
describe("security: file modes under the home", function () {
  this.timeout(60_000);

  it("tightens a home, run/ and api/ made with 0755, and keeps the registry and lock owner-only", async () => {
    const parent = tempDir("ghostd-sec-modes-");
    const home = join(parent.path, "home");
    for (const dir of [home, join(home, "run"), join(home, "api")]) mkdirSync(dir, { recursive: true, mode: 0o755 });
    // A registry an earlier ghostd left world-readable.
    new Database(join(home, "registry.db")).close();
    const daemon = await spawnDaemon({ home, args: ["--http", "off"] });
    try {
      for (const dir of [home, join(home, "run"), join(home, "api")]) assert.equal(modeOf(dir), "700", dir);
      for (const file of ["registry.db", "registry.db-wal", "registry.db-shm", "run/daemon.lock"].map((f) => join(home, f))) {
        if (existsSync(file)) assert.equal(modeOf(file), "600", file);
      }
      assert.ok(existsSync(join(home, "registry.db-wal")), "the registry runs in WAL mode, so its -wal file is there to check");
    } finally {
      await daemon.stop();
      daemon.cleanup();
      parent.remove();
    }
  });

  it("tightens a socket directory given by --host-api-dir, but will not take over a shared (sticky) one", async () => {
    const parent = tempDir("ghostd-sec-modes-");
    const loose = join(parent.path, "sockets");
    const shared = join(parent.path, "shared");
    mkdirSync(loose, { mode: 0o755 });
    mkdirSync(shared);
    chmodSync(loose, 0o755);
    chmodSync(shared, 0o1777);
    try {
      const daemon = await spawnDaemon({ args: ["--http", "off", "--host-api-dir", loose] });
      assert.equal(modeOf(loose), "700");
      assert.equal(modeOf(join(loose, "local.GhostVM.sock")), "600");
      await daemon.stop();
      daemon.cleanup();
      const refused = await runGhostd(["gateway", "--home", join(parent.path, "home"), "--http", "off", "--host-api-dir", shared], {}, 10_000);
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /is a shared directory \(sticky, mode 1777\)/);
      assert.equal((statSync(shared).mode & 0o7777).toString(8), "1777", "left as it was");
    } finally {
      parent.remove();
    }
  });
});
