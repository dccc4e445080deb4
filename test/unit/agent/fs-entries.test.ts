import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listEntries, permissionString, statEntry } from "../../../server/agent/fs-entries";
import { Code, DomainError } from "../../../server/errors";
import { tempDir } from "../../helpers/tmp";

/** Fails unless `promise` rejects with this reason (and code). */
async function failsWith(promise: Promise<unknown>, reason: string, code: Code): Promise<DomainError> {
  const err = await promise.then(
    () => assert.fail(`expected ${reason}, and the call succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DomainError, String(err));
  assert.deepEqual([err.reason, err.code], [reason, code], err.message);
  return err;
}

/**
 * root/
 *   a.txt             "hello", 0644
 *   dir/              0755
 *     b.txt
 *     loop -> ..      a cycle, if links were followed
 *     sub/
 *       c.txt
 *       deeper/
 *         d.txt
 *   file-link -> a.txt
 *   link -> dir       a symlink to a directory: listed, never entered
 */
function tree(root: string): void {
  writeFileSync(join(root, "a.txt"), "hello");
  chmodSync(join(root, "a.txt"), 0o644);
  mkdirSync(join(root, "dir/sub/deeper"), { recursive: true });
  chmodSync(join(root, "dir"), 0o755);
  writeFileSync(join(root, "dir/b.txt"), "b");
  writeFileSync(join(root, "dir/sub/c.txt"), "c");
  writeFileSync(join(root, "dir/sub/deeper/d.txt"), "d");
  symlinkSync("..", join(root, "dir/loop"));
  symlinkSync("a.txt", join(root, "file-link"));
  symlinkSync("dir", join(root, "link"));
}

const id = (flag: string): string => execFileSync("id", [flag], { encoding: "utf8" }).trim();

describe("agent file system entries", () => {
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  const relativePaths = (entries: readonly { path: string }[]): string[] => entries.map((e) => e.path.slice(root.length + 1));

  beforeEach(() => {
    tmp = tempDir("ghostd-fs-");
    root = tmp.path;
    tree(root);
  });
  afterEach(() => tmp.remove());

  describe("statEntry", () => {
    it("describes a file: kind, size, permission bits and letters, owner and group by name, time", async () => {
      const entry = await statEntry(join(root, "a.txt"), "/nowhere");
      const { mtimeMs } = statSync(join(root, "a.txt"));
      assert.deepEqual(entry, {
        name: "a.txt",
        path: join(root, "a.txt"),
        type: "file",
        size: 5,
        mode: 0o644,
        permissions: "-rw-r--r--",
        owner: id("-un"),
        group: id("-gn"),
        modifiedAt: new Date(mtimeMs),
      });
    });

    it("describes a directory, taking a relative path from the home", async () => {
      const entry = await statEntry("dir", root);
      assert.deepEqual([entry.path, entry.type, entry.mode, entry.permissions], [join(root, "dir"), "directory", 0o755, "drwxr-xr-x"]);
      assert.equal((await statEntry("~/dir/sub", root)).path, join(root, "dir/sub"));
    });

    it("describes a symlink as itself, with its target as written", async () => {
      const entry = await statEntry(join(root, "link"), root);
      assert.deepEqual([entry.type, entry.symlinkTarget, entry.permissions, entry.size], ["symlink", "dir", "lrwxrwxrwx", 3]);
      assert.equal((await statEntry("file-link", root)).symlinkTarget, "a.txt");
      assert.equal((await statEntry("a.txt", root)).symlinkTarget, undefined, "only a symlink has a target");
    });

    it("reports a missing path as path_not_found", async () => {
      const err = await failsWith(statEntry(join(root, "missing"), root), "path_not_found", Code.NOT_FOUND);
      assert.match(err.message, /missing does not exist/);
      await failsWith(statEntry(join(root, "a.txt/below"), root), "not_a_directory", Code.FAILED_PRECONDITION);
    });

    it("spells setuid, setgid and sticky as ls does", () => {
      assert.equal(permissionString(0o4755, "file"), "-rwsr-xr-x");
      assert.equal(permissionString(0o4644, "file"), "-rwSr--r--");
      assert.equal(permissionString(0o2750, "directory"), "drwxr-s---");
      assert.equal(permissionString(0o1777, "directory"), "drwxrwxrwt");
      assert.equal(permissionString(0o1776, "directory"), "drwxrwxrwT");
      assert.equal(permissionString(0o010644, "other"), "prw-r--r--");
    });
  });

  describe("listEntries", () => {
    const depth1 = ["a.txt", "dir", "file-link", "link"];
    const depth2 = ["a.txt", "dir", "dir/b.txt", "dir/loop", "dir/sub", "file-link", "link"];
    const depth3 = ["a.txt", "dir", "dir/b.txt", "dir/loop", "dir/sub", "dir/sub/c.txt", "dir/sub/deeper", "file-link", "link"];

    it("lists one level per depth, sorted by path", async () => {
      assert.deepEqual(relativePaths(await listEntries(root, 1, "/")), depth1);
      assert.deepEqual(relativePaths(await listEntries(root, 2, "/")), depth2);
      assert.deepEqual(relativePaths(await listEntries(root, 3, "/")), depth3);
    });

    it("never enters a symlinked directory, so a link cycle ends", async () => {
      const all = await listEntries(root, 50, "/");
      assert.deepEqual(relativePaths(all), [...depth3.slice(0, 7), "dir/sub/deeper/d.txt", ...depth3.slice(7)]);
      const link = all.find((e) => e.name === "link");
      assert.deepEqual([link?.type, link?.symlinkTarget], ["symlink", "dir"]);
    });

    it("lists through a symlink given as the path itself", async () => {
      assert.deepEqual(relativePaths(await listEntries("link", 1, root)), ["link/b.txt", "link/loop", "link/sub"]);
    });

    it("refuses a depth below 1 or not whole, a file and a missing path", async () => {
      await failsWith(listEntries(root, 0, "/"), "invalid_argument", Code.INVALID_ARGUMENT);
      await failsWith(listEntries(root, 1.5, "/"), "invalid_argument", Code.INVALID_ARGUMENT);
      await failsWith(listEntries(join(root, "a.txt"), 1, "/"), "not_a_directory", Code.FAILED_PRECONDITION);
      await failsWith(listEntries(join(root, "missing"), 1, "/"), "path_not_found", Code.NOT_FOUND);
    });

    it("fails past its bound instead of cutting the listing short", async () => {
      assert.equal((await listEntries(root, 1, "/", 4)).length, 4, "exactly the bound is fine");
      const err = await failsWith(listEntries(root, 1, "/", 3), "too_many_entries", Code.INVALID_ARGUMENT);
      assert.match(err.message, /more than 3 entries within 1 level/);
      await failsWith(listEntries(root, 2, "/", 6), "too_many_entries", Code.INVALID_ARGUMENT);
    });
  });
});
