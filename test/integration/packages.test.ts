import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { TrustStatus, type SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { call, JSON_TYPE } from "../helpers/http";
import { archiveBytes, digestOf, fileEntries, fileHeader, nativeManifest, newPublisher, signed, tarBytes, type RawEntry } from "../helpers/package-archive";
import { errorMetadataOf, failsWith, supervisorClient, tailLogs } from "../helpers/supervisor";
import { supervisorCalls, type SupervisorCalls } from "../helpers/supervisor-calls";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

/** Small limits, so a test reaches each without writing a gigabyte. */
const LIMITS = { entries: 50, bytes: 1024 * 1024, fileBytes: 256 * 1024 };

/** Every file under `dir`, relative, but the daemon's own bookkeeping. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .filter((path) => !/^(registry\.db|run|logs|api|agent)(\b|\/|-)/.test(path))
    .sort();
}

describe("ImportPackage: .vibeapp packages", function () {
  this.timeout(120_000);
  let daemon: DaemonProcess;
  let client: SupervisorClient;
  let calls: SupervisorCalls;
  const work = tempDir("packages-");
  let serial = 0;

  before(async () => {
    daemon = await spawnDaemon({
      args: ["--port-range", "47500-47549", "--log-level", "warn", "--runtime", "process", "--package-max-entries", String(LIMITS.entries), "--package-max-bytes", "1M", "--package-max-file-bytes", "256k"],
    });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
    calls = supervisorCalls(client);
  });

  after(async () => {
    client.close();
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  /** Writes an archive's bytes to a fresh file and returns its path. */
  const packageFile = (bytes: Buffer): string => {
    const path = join(work.path, `p${++serial}.vibeapp`);
    writeFileSync(path, bytes);
    return path;
  };
  const valid = (id = `dev.pkg.app${serial + 1}`, extra: Record<string, string | Buffer> = {}): Record<string, string | Buffer> => ({ "vibe.yaml": nativeManifest(id), "bin/run.sh": "echo hi\n", ...extra });

  describe("hostile archives: each refused, nothing written outside staging, nothing left", () => {
    const escape = join(work.path, "escaped");

    /** Imports `bytes`, expects `reason` (and the offending entry), then checks the home and the escape targets. */
    async function refused(bytes: Buffer, reason: string, entry?: string, verifySignature = false): Promise<void> {
      const before = filesUnder(daemon.home);
      const code = reason === "INVALID_PACKAGE" ? Code.INVALID_ARGUMENT : reason === "PATH_NOT_FOUND" ? Code.NOT_FOUND : Code.PERMISSION_DENIED;
      const err = await failsWith(calls.importPackage({ packageDataPath: packageFile(bytes), verifySignature }), code, reason);
      if (entry !== undefined) assert.equal(errorMetadataOf(err).entry, entry, err.details);
      if (reason === "INVALID_PACKAGE") assert.ok(errorMetadataOf(err).rule, "the rule it broke is named");
      assert.deepEqual(filesUnder(daemon.home).filter((p) => !before.includes(p) && p !== "packages" && p !== "packages/.staging"), [], "nothing new in the home");
      assert.deepEqual(readdirSync(join(daemon.home, "packages", ".staging")), [], "no staging left");
      assert.ok(!existsSync(escape) && !existsSync(join(daemon.home, "escaped")) && !existsSync("/tmp/ghostd-escaped"), "nothing escaped");
    }

    const withEntries = async (...extra: RawEntry[]): Promise<Buffer> => archiveBytes([...fileEntries(valid()), ...extra]);

    it("refuses ../ segments and absolute paths", async () => {
      await refused(await withEntries({ name: "../../../../escaped", content: "x" }), "INVALID_PACKAGE", "../../../../escaped");
      await refused(await withEntries({ name: "a/../../escaped", content: "x" }), "INVALID_PACKAGE", "a/../../escaped");
      await refused(await withEntries({ name: "/tmp/ghostd-escaped", content: "x" }), "INVALID_PACKAGE", "/tmp/ghostd-escaped");
      await refused(await withEntries({ name: "./vibe2.yaml", content: "x" }), "INVALID_PACKAGE", "./vibe2.yaml");
    });

    it("refuses backslashes and control characters in names", async () => {
      await refused(await withEntries({ name: "..\\..\\escaped", content: "x" }), "INVALID_PACKAGE", "..\\..\\escaped");
      await refused(await withEntries({ name: "a\u0001b", content: "x" }), "INVALID_PACKAGE", "a\u0001b");
    });

    it("refuses symlinks to outside and to inside, and a directory symlink written through by a later entry", async () => {
      await refused(await withEntries({ name: "out", type: "symlink", linkname: escape }), "INVALID_PACKAGE", "out");
      await refused(await withEntries({ name: "in", type: "symlink", linkname: "vibe.yaml" }), "INVALID_PACKAGE", "in");
      await refused(await withEntries({ name: "dir", type: "symlink", linkname: work.path }, { name: "dir/escaped", content: "x" }), "INVALID_PACKAGE", "dir");
    });

    it("refuses hard links, devices and FIFOs", async () => {
      await refused(await withEntries({ name: "hard", type: "link", linkname: "vibe.yaml" }), "INVALID_PACKAGE", "hard");
      await refused(await withEntries({ name: "char", type: "character-device" }), "INVALID_PACKAGE", "char");
      await refused(await withEntries({ name: "block", type: "block-device" }), "INVALID_PACKAGE", "block");
      await refused(await withEntries({ name: "fifo", type: "fifo" }), "INVALID_PACKAGE", "fifo");
    });

    it("refuses a path given twice, a file where a directory was, and a path under a file", async () => {
      await refused(await withEntries({ name: "bin/run.sh", content: "other" }), "INVALID_PACKAGE", "bin/run.sh");
      await refused(await withEntries({ name: "d", type: "directory" }, { name: "d", content: "x" }), "INVALID_PACKAGE", "d");
      await refused(await withEntries({ name: "bin", content: "x" }), "INVALID_PACKAGE", "bin");
      await refused(await withEntries({ name: "vibe.yaml/x", content: "x" }), "INVALID_PACKAGE", "vibe.yaml/x");
    });

    it("refuses a path over 255 bytes, and more entries than the limit", async () => {
      const long = `${"d".repeat(200)}/${"f".repeat(60)}`;
      await refused(await withEntries({ name: long, content: "x" }), "INVALID_PACKAGE");
      const many = Array.from({ length: LIMITS.entries }, (_, i) => ({ name: `many/${i}`, content: "" }));
      await refused(await withEntries(...many), "INVALID_PACKAGE");
    });

    it("refuses a file over the per-file limit and a package over the unpacked limit before writing that much", async () => {
      await refused(await withEntries({ name: "big", content: Buffer.alloc(LIMITS.fileBytes + 1) }), "INVALID_PACKAGE", "big");
      const parts = Array.from({ length: 5 }, (_, i) => ({ name: `part${i}`, content: Buffer.alloc(LIMITS.fileBytes) }));
      // vibe.yaml and bin/run.sh come first: the fourth part is the one over 1 MiB.
      await refused(await withEntries(...parts), "INVALID_PACKAGE", "part3");
      // A header declaring far more than it carries is refused at the header, not read to its end.
      await refused(gzipSync(Buffer.concat([await tarBytes(fileEntries(valid())).then((t) => t.subarray(0, t.length - 1024)), fileHeader("huge", 300 * 1024 * 1024)])), "INVALID_PACKAGE", "huge");
    });

    it("refuses a gzip bomb: a stream that inflates past the limit whatever its headers say", async () => {
      const tar = await tarBytes(fileEntries(valid()));
      await refused(gzipSync(Buffer.concat([tar, Buffer.alloc(8 * 1024 * 1024)]), { level: 9 }), "INVALID_PACKAGE");
    });

    it("refuses a truncated archive, a file that is not gzip, and gzip that is not tar", async () => {
      const whole = await archiveBytes(fileEntries(valid()));
      await refused(whole.subarray(0, Math.floor(whole.length / 2)), "INVALID_PACKAGE");
      await refused(Buffer.from("kind: vibe.app/v1\n"), "INVALID_PACKAGE");
      await refused(gzipSync(Buffer.alloc(2000, "x")), "INVALID_PACKAGE");
      await refused(Buffer.alloc(0), "INVALID_PACKAGE");
    });

    it("refuses a package without vibe.yaml, and a manifest with .. paths", async () => {
      await refused(await archiveBytes(fileEntries({ "app/run.sh": "x" })), "INVALID_PACKAGE", "vibe.yaml");
      const climbing = "kind: vibe.app/v1\nid: dev.pkg.climb\nname: C\nversion: 1.0.0\nruntime: {mode: compose, composeFile: ../../compose.yaml}\n";
      await refused(await archiveBytes(fileEntries({ "vibe.yaml": climbing })), "INVALID_PACKAGE", "vibe.yaml");
    });

    it("refuses one signature file without the other, either way, and other files under signatures/", async () => {
      const files = signed(valid("dev.pkg.halfsigned"), newPublisher());
      const { ["signatures/package.sig"]: sig, ...keyOnly } = files;
      const { ["signatures/publisher.pub"]: key, ...sigOnly } = files;
      assert.ok(sig && key);
      await refused(await archiveBytes(fileEntries(keyOnly)), "INVALID_PACKAGE", "signatures/publisher.pub");
      await refused(await archiveBytes(fileEntries(sigOnly)), "INVALID_PACKAGE", "signatures/package.sig");
      await refused(await archiveBytes(fileEntries({ ...files, "signatures/extra.sh": "rm -rf /" })), "INVALID_PACKAGE", "signatures/extra.sh");
    });

    it("refuses with verify_signature: an extra file, a changed byte (TAMPERED), a revoked key and a malformed key (SIGNATURE_INVALID)", async () => {
      const publisher = newPublisher();
      const files = signed(valid("dev.pkg.tamper"), publisher);
      await refused(await archiveBytes(fileEntries({ ...files, "extra.txt": "not signed" })), "TAMPERED", undefined, true);
      await refused(await archiveBytes(fileEntries({ ...files, "bin/run.sh": "echo HI\n" })), "TAMPERED", undefined, true);
      mkdirSync(join(daemon.home, "trust", "revoked"), { recursive: true });
      writeFileSync(join(daemon.home, "trust", "revoked", "bad.pub"), publisher.publicPem);
      await refused(await archiveBytes(fileEntries(files)), "SIGNATURE_INVALID", undefined, true);
      await refused(await archiveBytes(fileEntries({ ...files, "signatures/publisher.pub": "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n" })), "SIGNATURE_INVALID", undefined, true);
    });

    it("refuses a path that is not there (PATH_NOT_FOUND), a directory (INVALID_PACKAGE) and a relative path (INVALID_ARGUMENT)", async () => {
      await failsWith(calls.importPackage({ packageDataPath: join(work.path, "none.vibeapp") }), Code.NOT_FOUND, "PATH_NOT_FOUND");
      await failsWith(calls.importPackage({ packageDataPath: work.path }), Code.INVALID_ARGUMENT, "INVALID_PACKAGE");
      await failsWith(calls.importPackage({ packageDataPath: "app.vibeapp" }), Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    });
  });

  describe("trust status and the answer", () => {
    it("imports a signed package whose key is trusted as signed_trusted, with every field of the answer", async () => {
      const publisher = newPublisher();
      const manifest = nativeManifest("dev.pkg.full", "2.1.0", "sleep 30", "    ports: [{container: 8080}, {container: 9000, hostExposure: none}]\nsecurity: {network: true, allowHostFileImport: true}\nsecrets: [{name: API_TOKEN, required: false}]\n");
      const files = signed({ "vibe.yaml": manifest, "web/index.html": "<p>hi</p>\n", "bin/run.sh": Buffer.from([0, 1, 2, 255]) }, publisher);
      mkdirSync(join(daemon.home, "trust"), { recursive: true });
      writeFileSync(join(daemon.home, "trust", "full.pub"), publisher.publicPem);
      const answer = await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(files))), verifySignature: true });
      const where = join(daemon.home, "packages", "dev.pkg.full", "2.1.0");
      assert.deepEqual(answer, {
        appId: "dev.pkg.full",
        name: "Test dev.pkg.full",
        version: "2.1.0",
        trustStatus: TrustStatus.TRUST_STATUS_SIGNED_TRUSTED,
        packagePath: where,
        capabilities: ["network", "host-file-import", "secret:API_TOKEN", "port:main/8080"],
        digest: digestOf(files),
      });
      assert.deepEqual(filesUnder(where).filter((p) => !["bin", "web", "signatures"].includes(p)), Object.keys(files).sort());
      for (const [path, content] of Object.entries(files)) assert.deepEqual(readFileSync(join(where, path)), Buffer.from(content), path);
    });

    it("reports signed_untrusted, unsigned and tampered (without verify_signature, imported anyway)", async () => {
      const untrusted = await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(signed(valid("dev.pkg.stranger"), newPublisher())))), verifySignature: true });
      assert.equal(untrusted.trustStatus, TrustStatus.TRUST_STATUS_SIGNED_UNTRUSTED);
      const unsigned = await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(valid("dev.pkg.plain")))), verifySignature: true });
      assert.equal(unsigned.trustStatus, TrustStatus.TRUST_STATUS_UNSIGNED);
      const files = signed(valid("dev.pkg.changed"), newPublisher());
      const tampered = await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries({ ...files, "bin/run.sh": "echo changed\n" }))) });
      assert.equal(tampered.trustStatus, TrustStatus.TRUST_STATUS_TAMPERED);
      assert.equal(readFileSync(join(tampered.packagePath, "bin", "run.sh"), "utf8"), "echo changed\n");
    });
  });

  describe("importing again", () => {
    it("is a no-op with the same content, CONFLICT with other content, and replace swaps it in", async () => {
      const first = valid("dev.pkg.again", { "data.txt": "one\n" });
      const answer = await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(first))) });
      assert.deepEqual(await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(first))) }), answer);
      const second = valid("dev.pkg.again", { "data.txt": "two\n" });
      const err = await failsWith(calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(second))) }), Code.ALREADY_EXISTS, "CONFLICT");
      assert.equal(errorMetadataOf(err).imported_digest, digestOf(first));
      assert.equal(readFileSync(join(answer.packagePath, "data.txt"), "utf8"), "one\n");
      const replaced = await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(second))), replace: true });
      assert.equal(replaced.digest, digestOf(second));
      assert.equal(readFileSync(join(answer.packagePath, "data.txt"), "utf8"), "two\n");
      assert.deepEqual(readdirSync(join(daemon.home, "packages", "dev.pkg.again")), ["1.0.0"], "the old version is gone");
    });

    it("answers two concurrent imports of one package alike", async () => {
      const bytes = await archiveBytes(fileEntries(valid("dev.pkg.twice")));
      const [a, b] = await Promise.all([calls.importPackage({ packageDataPath: packageFile(bytes) }), calls.importPackage({ packageDataPath: packageFile(bytes) })]);
      assert.deepEqual(a, b);
    });
  });

  it("runs an imported package: ensure, open and start from its package_path", async () => {
    const files = { "vibe.yaml": nativeManifest("dev.pkg.runs", "1.0.0", "sh bin/run.sh; sleep 30"), "bin/run.sh": "echo from the package\n" };
    const answer = await calls.importPackage({ packageDataPath: packageFile(await archiveBytes(fileEntries(files))) });
    await calls.ensure({ projectId: "pkg-runs", appId: answer.appId, packagePath: answer.packagePath });
    await calls.open("pkg-runs");
    await calls.start("pkg-runs");
    await waitFor("the service ran the package's script", async () => (await tailLogs(client, { projectId: "pkg-runs" })).some((e) => e.line === "from the package"), 20_000);
    await calls.stop("pkg-runs");
  });

  it("answers over HTTP, POST /v1/packages:import, in the seed's error format", async () => {
    const ok = await call({ base: daemon.endpoints.http ?? "", method: "POST", path: "/v1/packages:import", headers: JSON_TYPE, body: JSON.stringify({ package_data_path: packageFile(await archiveBytes(fileEntries(valid("dev.pkg.http")))) }) });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().trust_status, "unsigned");
    assert.match(String(ok.json().digest), /^sha256:[0-9a-f]{64}$/);
    const bad = await call({ base: daemon.endpoints.http ?? "", method: "POST", path: "/v1/packages:import", headers: JSON_TYPE, body: JSON.stringify({ package_data_path: packageFile(await archiveBytes([{ name: "../x", content: "x" }])) }) });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error, "INVALID_PACKAGE");
  });
});
