import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EnsureProjectRequest, GetProjectStatusRequest, OpenProjectRequest, ProjectStatus, StartProjectRequest, StopProjectRequest, type LogEntry, type SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { composeManifest, followLogs, supervisorClient, tailLogs, unary, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

const GHOSTCTL = join(packageRoot, "cli", "ghostctl");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What /proc said ghostctl's command line was while it ran. */
  readonly cmdline: string;
}

/** Every argv this file hands to a process: no secret value may be in one. */
const spawnedArgv: string[][] = [];

/** A fresh value, so that finding it anywhere can only mean it leaked from this run. */
const secretValue = (label: string): string => `${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

/**
 * Runs cli/ghostctl with only the given environment on top of the test's (GHOSTD_* dropped), and
 * `input` on its standard input. Its /proc/<pid>/cmdline is read right after it is started: a
 * process that has exec'd but not yet finished loading is certainly still there.
 */
function ghostctl(args: readonly string[], options: { home: string; env?: Record<string, string>; input?: string }): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.GHOSTD_HOME;
  delete env.GHOSTD_TARGET;
  const argv = ["--home", options.home, ...args];
  spawnedArgv.push([GHOSTCTL, ...argv]);
  return new Promise((resolve, reject) => {
    const child = spawn(GHOSTCTL, argv, { env, stdio: ["pipe", "pipe", "pipe"] });
    const cmdline = execdCmdline(child.pid ?? 0);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // ghostctl reads its standard input only with --secrets-from-stdin; one that has already
    // exited closes the pipe, which is no failure of the test.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, cmdline }));
  });
}

/**
 * The command line of a process just spawned, once it is the program's: in some sandboxes spawn
 * returns before the child's exec, while /proc still shows the forked test runner's.
 */
function execdCmdline(pid: number): string {
  const ours = readFileSync("/proc/self/cmdline", "utf8");
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let cmdline = "";
  for (let tries = 0; tries < 400; tries++) {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmdline !== ours && cmdline !== "") break;
    Atomics.wait(pause, 0, 0, 5);
  }
  return cmdline.split("\0").join(" ");
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

describe("security: secrets", function () {
  this.timeout(60_000);
  let daemon: DaemonProcess;
  let client: SupervisorClient;
  let work: ReturnType<typeof tempDir>;
  let counter = 0;

  before(async () => {
    work = tempDir("ghostd-sec-secrets-");
    daemon = await spawnDaemon({ args: ["--http", "off", "--port-range", "46500-46549", "--log-level", "warn"] });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
  });

  after(async () => {
    client.close();
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  const projectStatus = async (projectId: string) => (await unary<{ status: ProjectStatus }>((cb) => client.getProjectStatus(GetProjectStatusRequest.fromPartial({ projectId }), cb))).status;
  const stop = (projectId: string) => unary((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId, timeoutSeconds: 5 }), cb));

  /** An ensured and opened compose project needing `secrets`; returns its id and state path. */
  async function openProject(compose: string, files: Record<string, string>, secrets: readonly string[]): Promise<{ id: string; state: string }> {
    const id = `sec${++counter}`;
    const declared = secrets.map((name) => `  - {name: ${name}, required: true}\n`).join("");
    const path = writePackage(join(work.path, `pkg-${id}`), { "vibe.yaml": composeManifest(`dev.test.${id}`, ["data"], `secrets:\n${declared}`), "compose.yaml": compose, ...files });
    const state = join(work.path, `state-${id}`);
    await unary((cb) => client.ensureProject(EnsureProjectRequest.fromPartial({ projectId: id, appId: `dev.test.${id}`, packagePath: path, statePath: state }), cb));
    await unary((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId: id }), cb));
    return { id, state };
  }

  describe("ghostctl start keeps secret values out of its command line", () => {
    /** A service that writes each secret it got into a file of its volume, for the test to read. */
    const RECORDER = "services:\n  app:\n    command: [sh, -c, 'printf %s \"$$API_TOKEN\" > $$GHOSTD_MOUNT_DATA/API_TOKEN; printf %s \"$$DB_PASSWORD\" > $$GHOSTD_MOUNT_DATA/DB_PASSWORD; sleep 1000']\n    volumes: [data:/data]\nvolumes:\n  data:\n";
    const recorderProject = () => openProject(RECORDER, {}, ["API_TOKEN", "DB_PASSWORD"]);
    const received = (state: string, name: string): Promise<string> => {
      const file = join(state, "current", "volumes", "data", name);
      return waitFor(`the service to record ${name}`, () => statSync(file, { throwIfNoEntry: false }) && readFileSync(file, "utf8"));
    };

    it("takes --secret NAME from its environment and --secret-file NAME=PATH from a file", async () => {
      const token = secretValue("token");
      const password = secretValue("password");
      const file = join(work.path, "db-password");
      writeFileSync(file, `${password}\n`, { mode: 0o600 });
      const { id, state } = await recorderProject();
      const run = await ghostctl(["start", id, "--secret", "API_TOKEN", "--secret-file", `DB_PASSWORD=${file}`], { home: daemon.home, env: { API_TOKEN: token } });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "", "no warning: no value was on the command line");
      assert.equal(await received(state, "API_TOKEN"), token);
      assert.equal(await received(state, "DB_PASSWORD"), password, "one trailing newline of the file is not part of the value");
      assert.match(run.cmdline, /start .* --secret API_TOKEN --secret-file DB_PASSWORD=/, "the command line read is ghostctl's");
      for (const value of [token, password]) {
        assert.ok(!run.cmdline.includes(value), "the value is not in /proc/<pid>/cmdline");
        assert.ok(!spawnedArgv.flat().some((arg) => arg.includes(value)), "the value is in no argv the test ran");
      }
      await stop(id);
    });

    it("reads NAME=VALUE lines from standard input with --secrets-from-stdin", async () => {
      const token = secretValue("token");
      const password = `${secretValue("pass")} with spaces # and a hash`;
      const { id, state } = await recorderProject();
      const input = `# the project's secrets\n\nAPI_TOKEN=${token}\nexport DB_PASSWORD="${password}"\n`;
      const run = await ghostctl(["start", id, "--secrets-from-stdin"], { home: daemon.home, input });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "");
      assert.equal(await received(state, "API_TOKEN"), token);
      assert.equal(await received(state, "DB_PASSWORD"), password, "quotes around a value are taken off, and what is inside is kept");
      assert.ok(![token, password].some((value) => run.cmdline.includes(value)));
      await stop(id);
    });

    it("still takes --secret NAME=VALUE, warning that other users can read it, without repeating it", async () => {
      const token = secretValue("token");
      const password = secretValue("password");
      const { id, state } = await recorderProject();
      const run = await ghostctl(["start", id, "--secret", `API_TOKEN=${token}`, "--secret", "DB_PASSWORD"], { home: daemon.home, env: { DB_PASSWORD: password } });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /^ghostctl: warning: --secret API_TOKEN=VALUE puts the value on the command line, .*process list.*--secret-file/);
      assert.equal(run.stderr.split("\n").filter(Boolean).length, 1, "one warning, for the one value on the command line");
      assert.ok(!run.stderr.includes(token), "the warning does not repeat the value");
      assert.equal(await received(state, "API_TOKEN"), token);
      assert.equal(await received(state, "DB_PASSWORD"), password);
      await stop(id);
    });

    it("fails clearly before starting anything, never echoing a value, when a secret cannot be read", async () => {
      const { id } = await recorderProject();
      const leaked = secretValue("leaked");
      const attempts: { args: string[]; input?: string; env?: Record<string, string>; says: RegExp }[] = [
        { args: ["--secret", "GHOSTD_TEST_UNSET_SECRET"], says: /^ghostctl: --secret GHOSTD_TEST_UNSET_SECRET: the environment variable GHOSTD_TEST_UNSET_SECRET is not set/ },
        { args: ["--secret-file", `API_TOKEN=${join(work.path, "no-such-file")}`], says: new RegExp(`^ghostctl: --secret-file API_TOKEN: cannot read ${join(work.path, "no-such-file")}: no such file`) },
        { args: ["--secret-file", "API_TOKEN"], says: /^ghostctl: --secret-file takes NAME=PATH/ },
        { args: ["--secrets-from-stdin"], input: `API_TOKEN=ok-value\n${leaked}\n`, says: /^ghostctl: --secrets-from-stdin: line 2 is not NAME=VALUE/ },
        { args: ["--secrets-from-stdin"], input: `1API=${leaked}\n`, says: /^ghostctl: --secrets-from-stdin: line 1: the name before = is not an environment variable name/ },
        { args: ["--secret", `not a name=${leaked}`], says: /^ghostctl: --secret: the name before = is not an environment variable name/ },
        { args: ["--secret", "API_TOKEN", "--secrets-from-stdin"], input: `API_TOKEN=${leaked}\n`, env: { API_TOKEN: leaked }, says: /^ghostctl: the secret API_TOKEN is given twice/ },
      ];
      for (const attempt of attempts) {
        const run = await ghostctl(["start", id, ...attempt.args], { home: daemon.home, input: attempt.input, env: attempt.env });
        const what = attempt.args.join(" ");
        assert.equal(run.code, 1, `${what}: ${run.stderr}`);
        assert.match(run.stderr.split("\n").filter((line) => !line.includes("warning")).join("\n"), attempt.says, what);
        assert.ok(!run.stderr.includes(leaked), `${what}: the error does not echo the value`);
      }
      assert.equal(await projectStatus(id), ProjectStatus.PROJECT_STATUS_OPEN, "nothing was started with the secrets that could be read");
    });
  });

  describe("the logs mask a secret's encodings as they mask the secret", () => {
    /** A service printing its secret in every form a program commonly prints one. */
    const PRINTER = `
const s = process.env.API_TOKEN;
const bytes = Buffer.from(s);
const b64 = bytes.toString("base64");
const b64url = bytes.toString("base64url");
console.log("raw: " + s);
console.log("base64: " + b64);
console.log("base64 unpadded: " + b64.replace(/=+$/, ""));
console.log("base64url: " + b64url);
console.log("base64url padded: " + b64url + "=".repeat((4 - (b64url.length % 4)) % 4));
console.log("uri: " + encodeURIComponent(s));
console.log("form: " + new URLSearchParams({ t: s }).toString().slice(2));
console.log("plus: " + encodeURIComponent(s).replaceAll("%20", "+"));
console.log("hex: " + bytes.toString("hex"));
console.log("query: https://example.com/?token=" + encodeURIComponent(s) + "&x=1");
console.log("basic: Basic " + Buffer.from("user:" + s).toString("base64"));
// Split in two writes in the middle of a UTF-8 character, so it arrives in two chunks.
const cut = bytes.indexOf(0xc3) + 1;
process.stdout.write(Buffer.concat([Buffer.from("split: "), bytes.subarray(0, cut)]));
setTimeout(() => {
  process.stdout.write(Buffer.concat([bytes.subarray(cut), Buffer.from("\\n")]));
  console.log("done");
  setInterval(() => undefined, 1000);
}, 300);
`;

    it("never shows the secret raw, base64, base64url, URL- or hex-encoded in GetProjectLogs, followed or not", async () => {
      // "?>?~~~" encodes to "Pz4/fn5+": base64 and base64url differ; the space and "ü" need
      // percent-encoding, and 17 bytes leave padding.
      const secret = `?>?~~~ü x/&=${Math.random().toString(36).slice(2, 6).padEnd(4, "0")}`;
      const bytes = Buffer.from(secret);
      assert.equal(bytes.length % 3, 2, "the base64 form has padding");
      const forms = {
        raw: secret,
        base64: bytes.toString("base64"),
        base64url: bytes.toString("base64url"),
        uri: encodeURIComponent(secret),
        form: new URLSearchParams({ t: secret }).toString().slice(2),
        hex: bytes.toString("hex"),
        basic: Buffer.from(`user:${secret}`).toString("base64"),
      };
      assert.notEqual(forms.base64.replace(/=+$/, ""), forms.base64url);
      assert.notEqual(forms.uri.replaceAll("%20", "+"), forms.form);

      const { id } = await openProject(`services:\n  app:\n    command: [${JSON.stringify(process.execPath)}, print.js]\n`, { "print.js": PRINTER }, ["API_TOKEN"]);
      await unary((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId: id, secrets: { API_TOKEN: secret } }), cb));
      const followed = await followLogs(client, { projectId: id, serviceName: "app" }, (entries) => entries.some((e) => e.line === "done"));
      const tailed = await tailLogs(client, { projectId: id, serviceName: "app", tailLines: 100 });
      await stop(id);

      for (const [how, entries] of [["followed", followed], ["tailed", tailed]] as const) {
        const line = (label: string): string => entries.find((e: LogEntry) => e.line.startsWith(`${label}: `))?.line ?? `no "${label}" line in ${how} logs`;
        for (const label of ["raw", "base64", "base64 unpadded", "base64url", "base64url padded", "uri", "form", "plus", "hex", "split"]) {
          assert.equal(line(label), `${label}: ***`, `${how}: ${label}`);
        }
        assert.equal(line("query"), "query: https://example.com/?token=***&x=1", how);
        // Only what encodes "user:" (and the bits it shares with the secret's first byte) stays.
        assert.match(line("basic"), /^basic: Basic [A-Za-z0-9+/]{0,8}\*\*\*[A-Za-z0-9+/]{0,2}=*$/, how);
        for (const [name, form] of Object.entries(forms)) {
          assert.ok(!entries.some((e: LogEntry) => e.line.includes(form)), `${how}: the ${name} form is in no line`);
        }
      }
      const files = filesUnder(daemon.home);
      assert.ok(files.some((file) => file.endsWith("app.log")), "the service's log file is among those checked");
      const leaks = files.filter((file) => Object.values(forms).some((form) => readFileSync(file).includes(form)));
      assert.deepEqual(leaks, [], "no file under the home holds the secret in any form");
    });
  });
});
