import { execFile } from "node:child_process";
import assert from "node:assert/strict";
import { chmodSync, cpSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon } from "../helpers/daemon";
import { ghostctl } from "../helpers/ghostctl";
import { call, JSON_TYPE } from "../helpers/http";
import { supervisorClient } from "../helpers/supervisor";
import { supervisorCalls } from "../helpers/supervisor-calls";
import { tempDir } from "../helpers/tmp";
import { program, requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

const run = promisify(execFile);
const TODO = join(packageRoot, "examples", "todo");
const VERIFIER = join(packageRoot, "test", "fixtures", "packages", "verify_vibeapp.py");

/** Runs ghostctl and parses each line of its output as JSON; fails with its stderr when it fails. */
async function ghostctlJson(args: readonly string[], home?: string): Promise<Record<string, unknown>[]> {
  const done = await ghostctl(args, home === undefined ? {} : { home });
  assert.equal(done.code, 0, `ghostctl ${args.join(" ")}: ${done.stderr}`);
  return done.stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("the publisher's tools: ghostctl package and ghostctl trust", function () {
  this.timeout(120_000);
  const work = tempDir("package-tools-");
  const home = join(work.path, "home");
  const key = join(work.path, "publisher");

  before(async () => {
    mkdirSync(home);
    await ghostctlJson(["package", "keygen", "-o", key]);
  });

  after(() => work.remove());

  it("keygen writes a private key only its owner reads, and never overwrites one", async () => {
    assert.equal(statSync(`${key}.pem`).mode & 0o777, 0o600);
    assert.match(readFileSync(`${key}.pub`, "utf8"), /^-----BEGIN PUBLIC KEY-----/);
    const again = await ghostctl(["package", "keygen", "-o", key]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists: keygen never overwrites a key/);
  });

  it("build is deterministic: the same files give the same bytes, whatever their times and modes", async () => {
    const source = join(work.path, "todo-copy");
    cpSync(TODO, source, { recursive: true });
    const [first] = await ghostctlJson(["package", "build", source, "-o", join(work.path, "a.vibeapp"), "--key", `${key}.pem`]);
    utimesSync(join(source, "vibe.yaml"), new Date(2030, 1, 1), new Date(2030, 1, 1));
    chmodSync(join(source, "web", "index.html"), 0o600);
    const [second] = await ghostctlJson(["package", "build", source, "-o", join(work.path, "b.vibeapp"), "--key", `${key}.pem`]);
    assert.deepEqual(readFileSync(join(work.path, "a.vibeapp")), readFileSync(join(work.path, "b.vibeapp")));
    assert.equal(first?.digest, second?.digest);
    writeFileSync(join(source, "web", "index.html"), "<p>changed</p>\n");
    const [third] = await ghostctlJson(["package", "build", source, "-o", join(work.path, "c.vibeapp")]);
    assert.notEqual(third?.digest, first?.digest);
    assert.equal(third?.signed, false);
  });

  it("build refuses a symbolic link in the source, naming it", async () => {
    const source = join(work.path, "with-link");
    cpSync(TODO, source, { recursive: true });
    symlinkSync("/etc/passwd", join(source, "web", "passwd"));
    const built = await ghostctl(["package", "build", source, "-o", join(work.path, "link.vibeapp")]);
    assert.equal(built.code, 1);
    assert.match(built.stderr, /web\/passwd: only regular files and directories/);
  });

  it("is checked by an independent reader: Python's standard library recomputes the digest and openssl verifies the signature", async function () {
    requireTools(this, [program("python3", "python3"), program("openssl", "openssl")]);
    const archive = join(work.path, "independent.vibeapp");
    const [built] = await ghostctlJson(["package", "build", TODO, "-o", archive, "--key", `${key}.pem`]);
    const out = join(work.path, "independent");
    mkdirSync(out);
    const { stdout } = await run("python3", [VERIFIER, archive, out]);
    assert.deepEqual(stdout.trim().split("\n"), [built?.digest, "signed"]);
    const verify = (): Promise<{ stdout: string }> => run("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", join(out, "publisher.pub"), "-rawin", "-in", join(out, "list"), "-sigfile", join(out, "sig")]);
    assert.match((await verify()).stdout, /Signature Verified Successfully/);
    const list = readFileSync(join(out, "list"));
    list[10] = list[10] === 0x30 ? 0x31 : 0x30;
    writeFileSync(join(out, "list"), list);
    await assert.rejects(verify(), (err: { stdout?: string }) => /Signature Verification Failure/.test(err.stdout ?? ""));
  });

  it("trust add, list, revoke and remove change what verify says", async () => {
    const archive = join(work.path, "trust.vibeapp");
    await ghostctlJson(["package", "build", TODO, "-o", archive, "--key", `${key}.pem`]);
    const status = async (): Promise<unknown> => (await ghostctlJson(["package", "verify", archive], home))[0]?.trust_status;
    assert.equal(await status(), "signed_untrusted");
    const [added] = await ghostctlJson(["trust", "add", `${key}.pub`], home);
    assert.match(String(added?.fingerprint), /^sha256:[0-9a-f]{64}$/);
    assert.equal(await status(), "signed_trusted");
    assert.deepEqual((await ghostctlJson(["trust", "list"], home)).map((k) => k.status), ["trusted"]);
    await ghostctlJson(["trust", "revoke", `${key}.pub`], home);
    assert.deepEqual((await ghostctlJson(["trust", "list"], home)).map((k) => k.status), ["revoked"]);
    const [verified] = await ghostctlJson(["package", "verify", archive], home);
    assert.equal(verified?.trust_status, "signed_untrusted");
    assert.match(String(verified.key_problem), /revoked/);
    await ghostctlJson(["trust", "add", `${key}.pub`], home);
    const [removed] = await ghostctlJson(["trust", "remove", `${key}.pub`], home);
    assert.equal(removed?.removed, true);
  });

  it("examples/todo builds into a signed package that imports as signed_trusted and runs: ensure, open, start, a request to its web service", async () => {
    const todoHome = tempDir("todo-home-");
    const archive = join(work.path, "todo.vibeapp");
    await ghostctlJson(["package", "build", TODO, "-o", archive, "--key", `${key}.pem`]);
    await ghostctlJson(["trust", "add", `${key}.pub`], todoHome.path);
    const daemon = await spawnDaemon({ home: todoHome.path, args: ["--port-range", "47550-47599", "--log-level", "warn", "--runtime", "process"] });
    const client = supervisorClient(daemon.endpoints.grpc ?? "");
    const calls = supervisorCalls(client);
    try {
      const [imported] = await ghostctlJson(["package", "import", archive, "--verify"], todoHome.path);
      assert.equal(imported?.trust_status, "signed_trusted");
      assert.equal(imported.package_path, join(todoHome.path, "packages", "dev.ghostd.todo", "1.0.0"));
      await calls.ensure({ projectId: "pkg-todo", appId: "dev.ghostd.todo", packagePath: imported.package_path });
      await calls.open("pkg-todo");
      const started = await calls.start("pkg-todo");
      const web = started.ports.find((p) => p.serviceName === "web");
      assert.ok(web, "the web service has a host port");
      const base = `http://127.0.0.1:${web.hostPort}`;
      const added = await waitFor("the web service to answer", () =>
        call({ base, method: "POST", path: "/api/items", headers: JSON_TYPE, body: JSON.stringify({ text: "from a signed package" }) }).then((r) => (r.status === 201 || r.status === 200 ? r : undefined), () => undefined),
      30_000);
      assert.equal(added.json().text, "from a signed package");
      await calls.stop("pkg-todo");
    } finally {
      client.close();
      await daemon.stop();
      todoHome.remove();
    }
  });
});
