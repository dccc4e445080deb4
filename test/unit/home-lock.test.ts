import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { HomeLockedError, lockHome } from "../../cli/home-lock";
import { tempDir } from "../helpers/tmp";

describe("lockHome", () => {
  it("holds the home until released, naming the holder's pid", () => {
    const home = tempDir();
    mkdirSync(join(home.path, "run"));
    const lock = lockHome(home.path);
    assert.throws(
      () => lockHome(home.path),
      (err: unknown) => err instanceof HomeLockedError && err.pid === process.pid && err.message.includes(`(pid ${process.pid}) is running on ${home.path}`),
    );
    lock.release();
    lockHome(home.path).release();
    home.remove();
  });
});
