import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { packageRoot } from "../cli/package-info";
import {
  DeleteProjectRuntimeRequest,
  EnsureProjectRequest,
  OpenProjectRequest,
  StartProjectRequest,
  StopProjectRequest,
  type StartProjectResponse,
  type StopProjectResponse,
  type SupervisorClient,
} from "../generated/ghostd/supervisor/v1/supervisor";
import { engineAddress, engineCandidates, findEngine } from "../server/supervisor/runtime/container/engine";
import { START_SETTLE_MS } from "../server/supervisor/project-run";
import { removeLabelled } from "../test/helpers/engine";
import { ensurePythonImage } from "../test/helpers/images";
import { supervisorClient, unary } from "../test/helpers/supervisor";
import { lookUp, recordingPath, traceExecs } from "./cli-watch";
import { engineProxy, type EngineCall, type EngineProxy } from "./engine-proxy";
import { percentile, waitForFile } from "./load";

// ghostd's StartProject of five image services against Debian's podman-compose (1.0.3) `up -d`,
// side by side in one run: the same compose file (bench/fixtures/five-services), the same engine
// (the Podman API service ghostd finds by DOCKER_HOST, and the podman CLI on the same storage,
// checked first). Rounds interleave the two, each starting first in turn, so what else loads
// the machine hits both; a warm-up round first makes each side's network, which both then keep.
// podman-compose 1.0.3 sleeps 1 s after each `podman run` it makes; a third row runs the same
// podman-compose with that sleep patched out, to show what the engine work alone costs it.
// The daemon runs with `docker` and `podman` wrappers first in its PATH that record any call,
// and a last, untimed round is traced with strace: both must find no such call.
// With `profile`, the daemon reaches the engine through a timing proxy (bench/engine-proxy.ts),
// and the engine calls inside the timed StartProjects are listed with what each took.
//   npm run bench:containers -- [rounds, default 10] [profile]

const ROUNDS = Number(process.argv[2] ?? 10);
const PROFILE = process.argv[3] === "profile";
const SERVICES = 5;
const FIXTURE = join(packageRoot, "bench", "fixtures", "five-services");
const INSTALL = "install Debian's podman-compose (apt-get install podman-compose)";
const run = promisify(execFile);

/** One way of bringing the app up: `up` is timed; `check` and `down` are not. */
interface Side {
  readonly name: string;
  up(): Promise<void>;
  check(): Promise<void>;
  down(): Promise<void>;
}

/** Fails unless the podman CLI (podman-compose's engine) and the API service at DOCKER_HOST share one storage. */
async function sameEngine(docker: Docker, image: string): Promise<string> {
  const exists = await run("podman", ["image", "exists", image]).then(
    () => true,
    () => false,
  );
  if (!exists) throw new Error(`the engine at DOCKER_HOST has ${image}, and \`podman image exists\` does not see it: podman-compose would run on other storage than ghostd`);
  const apiId = (await docker.getImage(image).inspect()).Id;
  const cliId = (await run("podman", ["image", "inspect", "--format", "{{.Id}}", image])).stdout.trim();
  const apiRoot = ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir;
  const cliRoot = (await run("podman", ["info", "--format", "{{.Store.GraphRoot}}"])).stdout.trim();
  if (apiId !== cliId.replace(/^(sha256:)?/, "sha256:") || apiRoot !== cliRoot) {
    throw new Error(`the API service and the podman CLI differ: image ${apiId} vs ${cliId}, storage ${apiRoot ?? "(not said)"} vs ${cliRoot}`);
  }
  return cliRoot;
}

/** podman-compose's version and the Python it runs on (its script's `#!` line). */
async function podmanCompose(): Promise<{ version: string; python: string }> {
  const script = lookUp("podman-compose", process.env.PATH ?? "");
  if (script === undefined) throw new Error(`podman-compose is not installed: ${INSTALL}`);
  const python = /^#!(\S+)/.exec(readFileSync(script, "utf8"))?.[1];
  if (python === undefined) throw new Error(`${script} is not the Python script Debian's package installs: ${INSTALL}`);
  const { stdout } = await run("podman-compose", ["version"]);
  return { version: /podman-composer? version\s+(\S+)/.exec(stdout)?.[1] ?? "(unknown)", python };
}

async function runningWith(docker: Docker, label: string): Promise<number> {
  return (await docker.listContainers({ filters: { label: [label], status: ["running"] } })).length;
}

/** ghostd's side; `windows` gets the span of each StartProject, on the process clock in ms. */
function ghostdSide(client: SupervisorClient, docker: Docker, projectId: string, windows: [number, number][]): Side {
  let started: StartProjectResponse | undefined;
  return {
    name: "ghostd: StartProject",
    up: async () => {
      const at = Number(process.hrtime.bigint()) / 1e6;
      started = await unary<StartProjectResponse>((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId }), cb));
      windows.push([at, Number(process.hrtime.bigint()) / 1e6]);
    },
    check: async () => {
      const running = await runningWith(docker, `ghostd.project=${projectId}`);
      if (running !== SERVICES || started?.ports.length !== SERVICES) throw new Error(`ghostd: ${running} containers running, ${started?.ports.length ?? 0} ports published`);
    },
    down: () => unary<StopProjectResponse>((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId, timeoutSeconds: 5 }), cb)).then(() => undefined),
  };
}

/** podman-compose as installed, or (`python` given) the same code with `time.sleep` made a no-op. */
function composeSide(name: string, docker: Docker, project: string, file: string, python?: string): Side {
  const args = ["-p", project, "-f", file];
  const unslept = "import sys, time; time.sleep = lambda seconds: None; sys.argv[0] = 'podman-compose'; from podman_compose import main; sys.exit(main())";
  const compose = (...more: string[]) => (python === undefined ? run("podman-compose", [...args, ...more]) : run(python, ["-c", unslept, ...args, ...more]));
  return {
    name,
    up: () => compose("up", "-d").then(() => undefined),
    // podman-compose exits 0 even when a `podman run` fails: the engine says what runs.
    check: async () => {
      const running = await runningWith(docker, `io.podman.compose.project=${project}`);
      if (running !== SERVICES) throw new Error(`${name}: ${running} containers running`);
    },
    down: () => compose("down").then(() => undefined),
  };
}

/** Rounds of every side in turn, the first of each round moving on by one; the first round untimed. */
async function rounds(sides: readonly Side[], count: number): Promise<number[][]> {
  const samples = sides.map((): number[] => []);
  for (let round = 0; round <= count; round++) {
    for (let k = 0; k < sides.length; k++) {
      const i = (round + k) % sides.length;
      const side = sides[i];
      if (!side) continue;
      const t0 = process.hrtime.bigint();
      await side.up();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      await side.check();
      await side.down();
      if (round > 0) samples[i]?.push(ms);
    }
    process.stderr.write(round === 0 ? "warm-up round done\n" : `round ${round}/${count} done\n`);
  }
  return samples.map((s) => s.sort((a, b) => a - b));
}

const mean = (samples: readonly number[]): number => samples.reduce((a, b) => a + b, 0) / samples.length;
const ms = (value: number): string => `${value.toFixed(0).padStart(6)} ms`;

function report(sides: readonly Side[], samples: readonly number[][]): void {
  process.stdout.write(`    ${"".padEnd(52)}    p50      mean       min       max\n`);
  sides.forEach((side, i) => {
    const s = samples[i] ?? [];
    process.stdout.write(`    ${side.name.padEnd(52)}${ms(percentile(s, 50))} ${ms(mean(s))} ${ms(s[0] ?? NaN)} ${ms(s[s.length - 1] ?? NaN)}\n`);
  });
  const [ours = [], theirs = [], unslept = []] = samples;
  const ratio = (other: readonly number[]) => `p50 ${(percentile(ours, 50) / percentile(other, 50)).toFixed(2)}, mean ${(mean(ours) / mean(other)).toFixed(2)}`;
  process.stdout.write(`    ratio ghostd/podman-compose ${ratio(theirs)} (target <= 1.00)\n`);
  process.stdout.write(`    ratio ghostd/podman-compose without its sleeps ${ratio(unslept)}\n`);
  process.stdout.write(
    [
      "what each timed span holds:",
      `    ghostd: the StartProject call to its response on the gRPC socket: host ports allocated; per service in depends_on order, the project network looked up, a leftover container of its name removed, the container created and started, its log followed and its exit awaited, through the Engine API; then until the last service has run ${START_SETTLE_MS} ms (START_SETTLE_MS), which catches a crash on start`,
      "    podman-compose: `podman-compose up -d` from exec to exit: Python's start, `podman --version`, then per service `podman network exists` and `podman run -d` (create and start), each `podman run` followed by a 1 s sleep of podman-compose's own",
      "    without its sleeps: the same, time.sleep patched out",
      "    both: a bridge network (the manifest allows egress), each service's port 8000 published by the engine on a host port (ghostd's on 127.0.0.1 from its range, podman-compose's on 0.0.0.0, the engine's pick)",
      "    not timed: StopProject / `podman-compose down`, and checking through the API that 5 containers run; the networks are made in the warm-up round and kept by both",
      "",
    ].join("\n"),
  );
}

/** The engine calls made inside the timed StartProjects (not the warm-up's), by kind. */
function profile(calls: readonly EngineCall[], windows: readonly [number, number][]): void {
  const inside = calls.filter((c) => windows.some(([from, to]) => c.at >= from && c.at <= to));
  const kinds = new Map<string, number[]>();
  for (const call of inside) kinds.set(`${call.kind} ${call.status}`, [...(kinds.get(`${call.kind} ${call.status}`) ?? []), call.ms]);
  process.stdout.write(`engine calls inside the ${windows.length} timed StartProjects (ms until the engine's response headers, by call and status; logs and wait then stream on):\n`);
  process.stdout.write(`    ${"".padEnd(44)}per start      p50      mean   sum per start\n`);
  for (const [kind, times] of [...kinds].sort((a, b) => mean(b[1]) * b[1].length - mean(a[1]) * a[1].length)) {
    const sorted = [...times].sort((a, b) => a - b);
    process.stdout.write(`    ${kind.padEnd(44)}${(times.length / windows.length).toFixed(1).padStart(9)} ${ms(percentile(sorted, 50))} ${ms(mean(sorted))}   ${ms((mean(sorted) * times.length) / windows.length)}\n`);
  }
  // Each service started before still has its wait open: a start that slows with its place points there.
  const starts = windows.map(([from, to]) => inside.filter((c) => c.at >= from && c.at <= to && c.kind === "POST /containers/{id}/start").map((c) => c.ms));
  const places = Array.from({ length: SERVICES }, (_, i) => starts.map((s) => s[i] ?? NaN).filter((t) => !Number.isNaN(t)).sort((a, b) => a - b));
  process.stdout.write(`    POST /containers/{id}/start by place in the start, p50: ${places.map((p, i) => `${i + 1}: ${percentile(p, 50).toFixed(0)} ms`).join(", ")}\n`);
}

/** One more StartProject and StopProject with strace on the daemon, then what the PATH wrappers recorded all along. */
async function cliCheck(side: Side, pid: number, dir: string, calls: () => string[]): Promise<void> {
  const trace = await traceExecs(pid, join(dir, "execs.strace"));
  await side.up();
  await side.check();
  await side.down();
  const execs = trace === undefined ? undefined : await trace.stop();
  const recorded = calls();
  process.stdout.write("docker/podman binaries run by the daemon:\n");
  process.stdout.write(`    PATH wrappers, every round: ${recorded.length === 0 ? "none" : recorded.join("; ")}\n`);
  process.stdout.write(`    strace, every execve during one more StartProject + StopProject: ${execs === undefined ? "not checked (strace is not installed)" : execs.length === 0 ? "none" : execs.join("; ")}\n`);
  if (recorded.length > 0 || (execs ?? []).some((l) => /docker|podman/.test(l))) throw new Error("the daemon ran docker or podman");
}

/**
 * `ghostd serve` on the container runtime. It asks the engine's /version within 3 s, which
 * Podman 4.3 answers only after asking the package manager (dpkg-query) about conmon and the OCI
 * runtime: seconds on a busy machine.
 * A daemon that gives up on that is started again (up to 5 times), and the bench says so.
 */
async function startDaemon(home: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  for (let attempt = 1; ; attempt++) {
    const ghostd = spawn(process.execPath, [join(packageRoot, "dist", "cli", "ghostd.js"), "serve", "--home", home, "--http", "off", "--log-level", "warn", "--runtime", "container", "--port-range", "47000-47199"], {
      stdio: ["ignore", "ignore", "pipe"],
      env,
    });
    let said = "";
    ghostd.stderr.on("data", (chunk: Buffer) => {
      said += chunk.toString();
      process.stderr.write(chunk);
    });
    try {
      await waitForFile(join(home, "run", "endpoints.json"), ghostd);
      return ghostd;
    } catch (err) {
      await stopDaemon(ghostd);
      if (attempt === 5 || !said.includes("no container engine answers")) throw err;
      process.stdout.write(`    (the daemon found no engine on start ${attempt}: ${said.trim()}; starting it again)\n`);
    }
  }
}

/** The timing proxy in front of the engine's Unix socket. */
function profiled(address: string, listen: string): Promise<EngineProxy> {
  const engine = engineAddress(address);
  if (!("socketPath" in engine)) throw new Error(`profile needs the engine on a Unix socket, not ${address}`);
  return engineProxy(listen, engine.socketPath);
}

async function main(): Promise<void> {
  const compose = await podmanCompose();
  // The engine the daemon finds, given longer than the daemon gives it (see startDaemon).
  const engine = await findEngine(engineCandidates(process.env), 15_000);
  const image = await ensurePythonImage(engine.docker);
  const storage = await sameEngine(engine.docker, image);
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-containers-"));
  const app = join(dir, "five-services");
  cpSync(FIXTURE, app, { recursive: true });
  const projectId = `bench-containers-${process.pid}`;
  const composeProject = `ghostd-bench-${process.pid}`;
  const wrappers = recordingPath(dir, process.env.PATH ?? "");
  const home = join(dir, "home");
  const client = supervisorClient(`unix:${join(home, "run", "ghostd.sock")}`);
  let proxy: EngineProxy | undefined;
  let ghostd: ChildProcess | undefined;
  try {
    proxy = PROFILE ? await profiled(engine.address, join(dir, "engine.sock")) : undefined;
    ghostd = await startDaemon(home, { ...process.env, PATH: wrappers.path, ...(proxy ? { DOCKER_HOST: `unix://${join(dir, "engine.sock")}` } : {}) });
    await unary((cb) => client.ensureProject(EnsureProjectRequest.fromPartial({ projectId, appId: "dev.ghostd.bench.five", packagePath: app, statePath: join(dir, "state") }), cb));
    await unary((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId }), cb));
    const windows: [number, number][] = [];
    const ours = ghostdSide(client, engine.docker, projectId, windows);
    const file = join(app, "compose.yaml");
    const sides = [ours, composeSide(`podman-compose ${compose.version} up -d`, engine.docker, composeProject, file), composeSide("anchor: podman-compose up -d without its sleeps", engine.docker, composeProject, file, compose.python)];
    process.stdout.write(`start of ${SERVICES} services on ${image}, one compose file; engine ${engine.version} at ${engine.address} (podman CLI on the same storage, ${storage}); ${ROUNDS} interleaved rounds after a warm-up\n`);
    report(sides, await rounds(sides, ROUNDS));
    if (proxy) {
      process.stdout.write("    profile: ghostd's engine calls went through the timing proxy, which its timed span includes\n");
      // The first window is the warm-up's.
      profile(proxy.calls, windows.slice(1));
    }
    await cliCheck(ours, ghostd.pid ?? 0, dir, () => wrappers.calls());
  } finally {
    await unary((cb) => client.deleteProjectRuntime(DeleteProjectRuntimeRequest.fromPartial({ projectId, force: true }), cb)).catch(() => undefined);
    client.close();
    await stopDaemon(ghostd);
    await proxy?.close();
    await run("podman-compose", ["-p", composeProject, "-f", join(app, "compose.yaml"), "down"]).catch(() => undefined);
    for (const label of [`ghostd.project=${projectId}`, `io.podman.compose.project=${composeProject}`]) await removeLabelled(engine.docker, label);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function stopDaemon(ghostd: ChildProcess | undefined): Promise<void> {
  if (ghostd === undefined || ghostd.exitCode !== null || ghostd.signalCode !== null) return;
  const exited = new Promise((resolve) => ghostd.once("exit", resolve));
  ghostd.kill("SIGTERM");
  await exited;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
