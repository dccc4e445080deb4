import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EntryLedger, PackageRefused } from "../../../server/supervisor/packages/entry-ledger";
import { DEFAULT_LIMITS } from "../../../server/supervisor/packages/entry-rules";
import { PackageLibrary } from "../../../server/supervisor/packages/library";
import { Registry } from "../../../server/supervisor/registry";
import { tempDir } from "../../helpers/tmp";

const refusal = (fn: () => unknown): PackageRefused => {
  try {
    fn();
  } catch (err) {
    if (err instanceof PackageRefused) return err;
    throw err;
  }
  return assert.fail("expected a refusal");
};

describe("EntryLedger: the format's rules for each entry, in archive order", () => {
  it("admits files and directories, with the execute bit kept and a directory's trailing / dropped", () => {
    const ledger = new EntryLedger(DEFAULT_LIMITS);
    assert.deepEqual(ledger.admit({ name: "bin/", type: "directory" }), { path: "bin", kind: "directory", size: 0, executable: true });
    assert.deepEqual(ledger.admit({ name: "bin/run", type: "file", size: 3, mode: 0o755 }), { path: "bin/run", kind: "file", size: 3, executable: true });
    assert.deepEqual(ledger.admit({ name: "vibe.yaml", type: "file", size: 1, mode: 0o600 }), { path: "vibe.yaml", kind: "file", size: 1, executable: false });
  });

  it("refuses each broken rule, naming the entry and the rule", () => {
    const cases: [string, string | null, RegExp][] = [
      ["../x", "file", /\.\. segment/],
      ["/etc/passwd", "file", /relative/],
      ["a\\b", "file", /backslash/],
      ["a\0b", "file", /control/],
      ["a//b", "file", /empty segment/],
      ["l", "symlink", /symbolic link/],
      ["h", "link", /hard link/],
      ["c", "character-device", /character device/],
      ["b", "block-device", /block device/],
      ["f", "fifo", /FIFO/],
      ["s", null, /another type/],
      ["signatures/other", "file", /only publisher\.pub and package\.sig/],
      ["x".repeat(256), "file", /at most 255 bytes/],
    ];
    for (const [name, type, rule] of cases) {
      const refused = refusal(() => new EntryLedger(DEFAULT_LIMITS).admit({ name, type, size: 0 }));
      assert.match(refused.rule, rule, name);
    }
  });

  it("refuses a second entry for a path, a file where a directory is, and a path under a file", () => {
    const ledger = new EntryLedger(DEFAULT_LIMITS);
    ledger.admit({ name: "a/b", type: "file" });
    assert.equal(refusal(() => ledger.admit({ name: "a/b", type: "file" })).entry, "a/b");
    assert.match(refusal(() => ledger.admit({ name: "a", type: "file" })).rule, /directory/);
    assert.match(refusal(() => ledger.admit({ name: "a/b/c", type: "file" })).rule, /earlier entry made a file/);
  });

  it("holds the default limits: entry 10,001, a file over 256 MiB, 1 GiB unpacked, before any byte", () => {
    const ledger = new EntryLedger(DEFAULT_LIMITS);
    for (let i = 0; i < 10_000; i++) ledger.admit({ name: `f${i}`, type: "file", size: 0 });
    assert.match(refusal(() => ledger.admit({ name: "one-more", type: "file", size: 0 })).rule, /at most 10000 entries/);
    assert.match(refusal(() => new EntryLedger(DEFAULT_LIMITS).admit({ name: "big", type: "file", size: 256 * 1024 * 1024 + 1 })).rule, /a file is at most/);
    const sum = new EntryLedger(DEFAULT_LIMITS);
    for (let i = 0; i < 4; i++) sum.admit({ name: `part${i}`, type: "file", size: 256 * 1024 * 1024 });
    assert.match(refusal(() => sum.admit({ name: "part4", type: "file", size: 1 })).rule, /unpacks to at most/);
  });
});

describe("PackageLibrary: what a crash left is put right at start", () => {
  it("removes staging leftovers, brings back a replaced version with no successor, and drops one that has", () => {
    const home = tempDir("library-");
    const packages = join(home.path, "packages");
    mkdirSync(join(packages, ".staging", "import-x"), { recursive: true });
    writeFileSync(join(packages, ".staging", "import-x", "vibe.yaml"), "half");
    mkdirSync(join(packages, "dev.a.app", ".1.0.0.replaced-0b9c2a4e-1111-4a4a-8a8a-000000000001"), { recursive: true });
    mkdirSync(join(packages, "dev.a.app", "2.0.0"), { recursive: true });
    mkdirSync(join(packages, "dev.a.app", ".2.0.0.replaced-0b9c2a4e-1111-4a4a-8a8a-000000000002"), { recursive: true });
    const registry = new Registry(join(home.path, "registry.db"));
    try {
      new PackageLibrary(home.path, registry.packages);
      assert.ok(!existsSync(join(packages, ".staging")));
      assert.deepEqual(readdirSync(join(packages, "dev.a.app")).sort(), ["1.0.0", "2.0.0"]);
    } finally {
      registry.close();
      home.remove();
    }
  });
});
