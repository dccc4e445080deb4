import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { contentList, packageDigest } from "../../../server/supervisor/packages/content-list";
import { entryPath, kindProblem, nameProblem } from "../../../server/supervisor/packages/entry-rules";
import { judge, TrustStore } from "../../../server/supervisor/packages/trust";
import { tempDir } from "../../helpers/tmp";

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

describe("package entry rules", () => {
  it("takes relative /-separated names and directories with a trailing /", () => {
    for (const name of ["vibe.yaml", "app/", "app/web/index.html", "é/ü.txt", "x".repeat(255)]) assert.equal(nameProblem(name), undefined, name);
    assert.equal(entryPath("app/"), "app");
  });

  it("refuses each broken rule, naming it", () => {
    const cases: [string, RegExp][] = [
      ["../etc/passwd", /\. or \.\. segment/],
      ["a/../../b", /\. or \.\. segment/],
      ["./vibe.yaml", /\. or \.\. segment/],
      ["/etc/passwd", /leading \//],
      ["a\\b", /backslash/],
      ["a\u0000b", /control character/],
      ["a\nb", /control character/],
      ["a\u007fb", /control character/],
      ["a//b", /empty segment/],
      ["", /empty name/],
      ["é".repeat(128), /at most 255 bytes/],
    ];
    for (const [name, rule] of cases) assert.match(nameProblem(name) ?? "accepted", rule, JSON.stringify(name));
  });

  it("takes files and directories only", () => {
    assert.equal(kindProblem("file"), undefined);
    assert.equal(kindProblem("directory"), undefined);
    for (const kind of ["symlink", "link", "character-device", "block-device", "fifo", "other"] as const) assert.match(kindProblem(kind) ?? "", /only regular files and directories/);
  });
});

describe("package content list and digest", () => {
  it("lists every file but signatures/ in byte order, in the format's line format", () => {
    const files = [
      { path: "vibe.yaml", sha256: sha("a"), size: 1 },
      { path: "signatures/package.sig", sha256: sha("s"), size: 1 },
      { path: "Zed", sha256: sha("z"), size: 10 },
      { path: "app/é", sha256: sha("e"), size: 2 },
      { path: "app/z", sha256: sha("y"), size: 3 },
    ];
    const list = contentList(files);
    assert.equal(list, `sha256:${sha("z")}  10  Zed\nsha256:${sha("y")}  3  app/z\nsha256:${sha("e")}  2  app/é\nsha256:${sha("a")}  1  vibe.yaml\n`);
    assert.equal(packageDigest(list), `sha256:${sha(list)}`);
  });
});

describe("package trust status", () => {
  const list = `sha256:${sha("a")}  1  vibe.yaml\n`;
  const pair = () => generateKeyPairSync("ed25519");
  const pem = (key: ReturnType<typeof pair>["publicKey"]) => Buffer.from(key.export({ type: "spki", format: "pem" }));
  const signed = (keys: ReturnType<typeof pair>, text = list) => ({ publicKey: pem(keys.publicKey), signature: sign(null, Buffer.from(text), keys.privateKey).toString("base64") });

  it("says signed_trusted, signed_untrusted, unsigned and tampered as the format defines them", () => {
    const home = tempDir();
    try {
      const trust = join(home.path, "trust");
      mkdirSync(join(trust, "revoked"), { recursive: true });
      const store = new TrustStore(trust);
      const publisher = pair();
      assert.deepEqual(judge(list, { publicKey: undefined, signature: undefined }, store), { status: "unsigned" });
      assert.deepEqual(judge(list, signed(publisher), store), { status: "signed_untrusted" });
      writeFileSync(join(trust, "publisher.pub"), pem(publisher.publicKey));
      writeFileSync(join(trust, "not-a-key.pub"), "hello");
      assert.deepEqual(judge(list, signed(publisher), store), { status: "signed_trusted" });
      assert.deepEqual(judge(`${list}sha256:${sha("b")}  1  extra\n`, signed(publisher), store), { status: "tampered" });
      assert.deepEqual(judge(list, { ...signed(publisher), signature: "not base64!" }, store), { status: "tampered" });
      writeFileSync(join(trust, "revoked", "publisher.pub"), pem(publisher.publicKey));
      assert.deepEqual(judge(list, signed(publisher), store), { status: "signed_untrusted", keyProblem: "the publisher's key is revoked in the trust store" });
    } finally {
      home.remove();
    }
  });

  it("finds a malformed or non-Ed25519 key tampered, with the key's problem", () => {
    const store = new TrustStore("/nonexistent");
    const malformed = judge(list, { publicKey: Buffer.from("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), signature: "AAAA" }, store);
    assert.equal(malformed.status, "tampered");
    assert.match(malformed.keyProblem ?? "", /not a PEM public key/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const wrongType = judge(list, { publicKey: Buffer.from(rsa.publicKey.export({ type: "spki", format: "pem" })), signature: "AAAA" }, store);
    assert.match(wrongType.keyProblem ?? "", /rsa key, not Ed25519/);
  });
});
