import fc from "fast-check";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { contractDescriptorSet } from "../../cli/package-info";
import { hostApi } from "../../gateway/surfaces/host-api";
import { documentPaths, type SurfaceDescription } from "../../gateway/surfaces/surface";
import { terminalApi } from "../../gateway/surfaces/terminal-api";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { buildRoutes } from "../../gateway/transcoder/routes";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { send, type FuzzTargets, type Outcome } from "../helpers/fuzz-http";
import { nastyString, percentEncode, requestTo, type FuzzRequest, type FuzzWorld } from "../helpers/fuzz-requests";
import { call } from "../helpers/http";
import { fdCount, fdsBackTo } from "../helpers/proc-stats";
import { tempDir } from "../helpers/tmp";

const SEED = Number(process.env.GHOSTD_FUZZ_SEED ?? 20_251_202);
// About 25 s on an idle 2-core machine.
const RUNS = Number(process.env.GHOSTD_FUZZ_RUNS ?? 3000);
const WORKERS = 4;
const SLOW_MS = 2000;
/** A V8 stack frame: "    at fn (/path/file.js:1:2)" or "    at node:internal/...". */
const STACK_FRAME = /\n {4}at [^\n]*(?:\/|node:)[^\n]*:\d+:\d+/;
const HARMLESS_MANIFEST = "kind: vibe.app/v1\nid: dev.fuzz.app\nname: Fuzz\nversion: 1.0.0\nruntime: {mode: native}\nservices:\n  - name: idle\n    command: [sleep, \"30\"]\n";

/** Every route of a surface, and the documents it answers, as requests the fuzzer can make. */
function surfaceRequests(world: FuzzWorld, surface: FuzzRequest["surface"], description: SurfaceDescription): fc.Arbitrary<FuzzRequest>[] {
  const routes = buildRoutes(loadContract(contractDescriptorSet()), description.services);
  const documents = fc.constantFrom(...documentPaths(description)).map((path): FuzzRequest => ({ surface, route: `GET ${path}`, method: "GET", target: path, headers: {}, body: undefined }));
  const unknown = nastyString.map((text): FuzzRequest => ({ surface, route: "unknown path", method: "GET", target: `/${percentEncode(text)}`, headers: {}, body: undefined }));
  return [...routes.map((route) => requestTo(world, surface, route)), documents, unknown];
}

/** What is wrong with an answer, if anything. */
function problemWith(request: FuzzRequest, outcome: Outcome): string | undefined {
  if (outcome.error !== undefined) return outcome.oversizedHead && /EPIPE|ECONNRESET/.test(outcome.error) ? undefined : outcome.error;
  if (outcome.ms > SLOW_MS) return `took ${outcome.ms} ms`;
  if (STACK_FRAME.test(outcome.body)) return "a stack trace in the body";
  // A HEAD answer has no body, whatever its status.
  if (outcome.status >= 500 && request.method !== "HEAD" && !isJsonObject(outcome.body)) return `${outcome.status} without a JSON body`;
  return undefined;
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function describeRequest(index: number, request: FuzzRequest, outcome: Outcome, problem: string): string {
  const target = request.target.length > 200 ? `${request.target.slice(0, 200)}…` : request.target;
  const body = request.body === undefined ? "" : ` body ${JSON.stringify(request.body.subarray(0, 200).toString("utf8"))}`;
  return `#${index} [${request.route}] ${request.method} ${target}${body} → ${outcome.status} in ${outcome.ms} ms: ${problem}: ${outcome.body.slice(0, 300)}`;
}

/**
 * A bounded fuzz run over every route of both surfaces, against a real daemon in a temporary home.
 * Everything a request can touch is in a sandbox directory: exec runs only `true`, `echo` or names
 * that do not exist, paths never climb out of the sandbox, terminals run `cat` instead of a shell,
 * and the opener is `true`.
 */
describe("security: fuzzing every HTTP route", function () {
  this.timeout(180_000);
  const home = tempDir("ghostd-fuzz-home-");
  const box = tempDir("ghostd-fuzz-box-");
  let daemon: DaemonProcess;
  let targets: FuzzTargets;
  let world: FuzzWorld;

  before(async () => {
    world = seedSandbox(box.path);
    const shell = join(home.path, "not-a-shell.sh");
    // Text typed into a terminal is read by cat, never run.
    writeFileSync(shell, "#!/bin/sh\nexec cat >/dev/null\n", { mode: 0o755 });
    const data = join(home.path, "data");
    mkdirSync(data);
    daemon = await spawnDaemon({
      args: ["--http", "127.0.0.1:0", "--shell", shell, "--sandbox", "off", "--port-range", "47100-47199"],
      env: { HOME: home.path, SHELL: shell, DISPLAY: "", WAYLAND_DISPLAY: "", XDG_DATA_HOME: data, XDG_DATA_DIRS: data, GHOSTD_OPENER: "/bin/true" },
    });
    targets = { http: daemon.endpoints.http ?? "", hostSocket: daemon.endpoints.host_api.local ?? "" };
    await warmUp();
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
    box.remove();
  });

  /** Starts what starts on first use (the exec host, the PTY host, the channels) and registers a project. */
  async function warmUp(): Promise<void> {
    const json = { "Content-Type": "application/json" };
    const ask = (surface: "host" | "terminal", method: string, path: string, body?: unknown): Promise<number> =>
      call({ ...(surface === "host" ? { socketPath: targets.hostSocket } : { base: targets.http }), method, path, headers: json, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }).then((r) => r.status);
    assert.equal(await ask("host", "POST", "/api/v1/exec", { command: "true" }), 200);
    const created = await call({ base: targets.http, method: "POST", path: "/api/v2/terminals", headers: json, body: "{}" });
    assert.equal(created.status, 200, created.text);
    assert.equal(await ask("terminal", "DELETE", `/api/v2/terminals/${created.json<{ id: string }>().id}`), 200);
    assert.equal(await ask("terminal", "PUT", "/v1/projects/fuzzapp", { app_id: "dev.fuzz.app", package_path: join(box.path, "pkg"), state_path: join(box.path, "state") }), 200);
  }

  it(`answers ${RUNS} generated requests without a 5xx that is not JSON, a stack trace or a 2 s wait, and gives back what they held`, async () => {
    const baseline = fdCount(daemon.endpoints.pid);
    const requests = fc.sample(fc.oneof(...surfaceRequests(world, "terminal", terminalApi), ...surfaceRequests(world, "host", hostApi)), { seed: SEED, numRuns: RUNS });
    process.stdout.write(`      fuzz: seed ${SEED}, ${RUNS} requests (set GHOSTD_FUZZ_SEED and GHOSTD_FUZZ_RUNS to change them)\n`);
    const started = Date.now();
    const problems = await runAll(requests);
    process.stdout.write(`      fuzz: ${RUNS} requests in ${Date.now() - started} ms\n`);
    await cleanUp();
    assert.deepEqual(problems.slice(0, 25), [], `${problems.length} problems (seed ${SEED})`);
    assert.equal(daemon.child.exitCode, null, "the daemon is still running");
    assert.equal((await call({ socketPath: targets.hostSocket, path: "/health" })).status, 200);
    await fdsBackTo(daemon.endpoints.pid, baseline, 2, 20_000);
    const longLines = daemon.output().split("\n").filter((line) => line.length > 4096);
    assert.deepEqual(longLines.map((line) => `${line.slice(0, 300)}… (${line.length} characters)`), [], "every log line is under 4 KiB");
  });

  /** Sends the requests from a few workers at once; the problems found, in request order. */
  async function runAll(requests: readonly FuzzRequest[]): Promise<string[]> {
    const problems: [number, string][] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    let live: string[] = [];
    const worker = async (): Promise<void> => {
      for (let index = next++; index < requests.length; index = next++) {
        if (index % 25 === 0) live = await liveTerminals();
        const request = requests[index];
        if (!request) continue;
        const outcome = await send(request, targets, live);
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        const problem = problemWith(request, outcome);
        if (problem !== undefined) problems.push([index, describeRequest(index, request, outcome, problem)]);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    const summary = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`);
    process.stdout.write(`      fuzz: statuses ${summary.join(", ")}\n`);
    return problems.sort(([a], [b]) => a - b).map(([, text]) => text);
  }

  /** The ids of the open terminals; past 20, the others are closed, so the run stays small. */
  async function liveTerminals(): Promise<string[]> {
    const reply = await call({ base: targets.http, path: "/api/v2/terminals" });
    const ids = reply.status === 200 ? reply.json<{ terminals: { id: string }[] }>().terminals.map((t) => t.id) : [];
    for (const id of ids.slice(20)) await call({ base: targets.http, method: "DELETE", path: `/api/v2/terminals/${id}` });
    return ids.slice(0, 20);
  }

  /** Closes every terminal and stops every project the run left, so that their descriptors go. */
  async function cleanUp(): Promise<void> {
    for (;;) {
      const ids = await liveTerminals();
      if (ids.length === 0) break;
      for (const id of ids) await call({ base: targets.http, method: "DELETE", path: `/api/v2/terminals/${id}` });
    }
    const projects = (await call({ base: targets.http, path: "/v1/projects" })).json<{ projects?: { project_id: string }[] }>().projects ?? [];
    for (const { project_id: id } of projects) {
      await call({ base: targets.http, method: "POST", path: `/v1/projects/${encodeURIComponent(id)}:stop`, headers: { "Content-Type": "application/json" }, body: '{"timeout_seconds": 1}' });
      await call({ base: targets.http, method: "DELETE", path: `/v1/projects/${encodeURIComponent(id)}/runtime?force=true` });
    }
  }
});

/** Files worth naming in the sandbox: a file, a large sparse one, a directory, a FIFO and a package. */
function seedSandbox(sandbox: string): FuzzWorld {
  writeFileSync(join(sandbox, "file.txt"), "hello\n");
  const big = openSync(join(sandbox, "big.bin"), "w");
  ftruncateSync(big, 8 * 1024 * 1024);
  closeSync(big);
  mkdirSync(join(sandbox, "dir"));
  writeFileSync(join(sandbox, "dir", "inner.json"), "{}");
  spawnSync("mkfifo", [join(sandbox, "fifo")]);
  mkdirSync(join(sandbox, "pkg"));
  writeFileSync(join(sandbox, "pkg", "vibe.yaml"), HARMLESS_MANIFEST);
  return {
    sandbox,
    sandboxNames: ["file.txt", "big.bin", "dir", "dir/inner.json", "fifo", "pkg", "pkg/vibe.yaml", "state", "missing"],
    projectIds: ["fuzzapp", "fuzz-b", "dev.fuzz"],
    harmlessManifest: HARMLESS_MANIFEST,
  };
}
