import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { contextEntries, packContext } from "../../../server/supervisor/runtime/container/context";
import { tempDir } from "../../helpers/tmp";
import { writePackage } from "../../helpers/supervisor";

/** Name, type flag and owner of each entry of a tar archive, read from its 512-byte headers. */
function tarEntries(tar: Buffer): { name: string; type: string; uid: number }[] {
  const entries: { name: string; type: string; uid: number }[] = [];
  const field = (header: Buffer, from: number, length: number): string => header.subarray(from, from + length).toString("utf8").replace(/\0.*$/s, "");
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    const name = field(header, 0, 100);
    if (name === "") break;
    const prefix = field(header, 345, 155);
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    entries.push({ name: prefix === "" ? name : `${prefix}/${name}`, type: field(header, 156, 1), uid: parseInt(field(header, 108, 8).trim() || "0", 8) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("a build context as the engine is sent it (.dockerignore)", () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(() => dir.remove());

  it("leaves out what .dockerignore excludes, with ** and ! exceptions, and always sends the Dockerfile and .dockerignore", () => {
    const ignore = "# what stays here\nsecret.key\n*.log\n!keep.log\nnode_modules\n**/*.tmp\ndocs/\n!docs/README.md\n/Dockerfile\n.dockerignore\n";
    const files = ["Dockerfile", "app.py", "secret.key", "a.log", "keep.log", "node_modules/x/y.js", "src/main.py", "src/deep/z.tmp", "docs/a.md", "docs/README.md", "nested/secret.key"];
    writePackage(dir.path, { ".dockerignore": ignore, ...Object.fromEntries(files.map((f) => [f, `${f}\n`])) });
    mkdirSync(join(dir.path, "empty"));
    symlinkSync("/etc/passwd", join(dir.path, "link"));
    assert.deepEqual(contextEntries(dir.path), [
      ".dockerignore",
      "Dockerfile",
      "app.py",
      "docs/README.md",
      "empty",
      "keep.log",
      "link",
      "nested",
      "nested/secret.key",
      "src",
      "src/deep",
      "src/main.py",
    ]);
  });

  it("without a .dockerignore sends everything; a Dockerfile elsewhere in the context goes even from an excluded directory", () => {
    writePackage(dir.path, { "docker/Dockerfile": "FROM scratch\n", "docker/notes.txt": "x\n", "app.txt": "x\n" });
    assert.deepEqual(contextEntries(dir.path, "docker/Dockerfile"), ["app.txt", "docker", "docker/Dockerfile", "docker/notes.txt"]);
    writeFileSync(join(dir.path, ".dockerignore"), "docker\n");
    assert.deepEqual(contextEntries(dir.path, "./docker/Dockerfile"), [".dockerignore", "app.txt", "docker/Dockerfile"]);
  });

  it("packs exactly the entries, owned by root, a symlink as a symlink", async () => {
    writePackage(dir.path, { Dockerfile: "FROM scratch\n", "src/a.txt": "a\n", "secret.key": "k\n" });
    symlinkSync("/etc/shadow", join(dir.path, "link"));
    const tar = gunzipSync(await collect(packContext(dir.path, ["Dockerfile", "link", "src", "src/a.txt"])));
    assert.deepEqual(tarEntries(tar), [
      { name: "Dockerfile", type: "0", uid: 0 },
      { name: "link", type: "2", uid: 0 },
      { name: "src", type: "5", uid: 0 },
      { name: "src/a.txt", type: "0", uid: 0 },
    ]);
  });

  it("fails the stream, not hangs, when an entry cannot be read", async () => {
    writePackage(dir.path, { Dockerfile: "FROM scratch\n" });
    await assert.rejects(collect(packContext(dir.path, ["Dockerfile", "gone.txt"])), /ENOENT/);
  });
});
