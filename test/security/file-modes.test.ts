import assert from "node:assert/strict";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { spawnDaemon } from "../helpers/daemon";
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
});
