import { credentials, type ServiceError } from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../cli/package-info";
import {
  EnsureProjectRequest,
  GetProjectStatusRequest,
  GetProjectStatusResponse,
  ListProjectsRequest,
  ListProjectsResponse,
  OpenProjectRequest,
  StartProjectRequest,
  StopProjectRequest,
  SupervisorClient,
} from "../generated/ghostd/supervisor/v1/supervisor";
import type { ServicePlan } from "../server/supervisor/plan";
import type { RunningTask } from "../server/supervisor/runtime/driver";
import { ProcessRuntime } from "../server/supervisor/runtime/process";
import { line, percentile, time, timeMeasured, waitForFile } from "./load";

// The supervisor against its anchors, side by side in one run:
//   StartProject of 10 services in a depends_on chain, each `sleep` (a process that is ready at
//     once), against starting the same 10 processes in a row through the process runtime alone
//     (same sandbox, no supervisor) and with a bare child_process.spawn: the difference is the
//     supervisor's own overhead per service (target: under 20 ms). StartProject also waits until
//     the youngest service has run 100 ms (a crash on start is START_FAILED); that wait is
//     shown apart.
//   GetProjectStatus and ListProjects p50 over gRPC with 1,000 registered projects (target: under
//     2 ms), against a bare grpc-js server answering the same responses fixed in advance.
//   npm run bench:supervisor -- [starts, default 20] [calls, default 500] [sandbox auto|off]

const STARTS = Number(process.argv[2] ?? 20);
const CALLS = Number(process.argv[3] ?? 500);
const SANDBOX = process.argv[4] === "off" ? "off" : "auto";
const CHAIN = 10;
const PROJECTS = 1000;
const SETTLE_MS = 100;

type Callback<T> = (err: ServiceError | null, reply: T) => void;
const unary = <T>(invoke: (callback: Callback<T>) => unknown): Promise<T> => new Promise((resolve, reject) => invoke((err, reply) => (err ? reject(err) : resolve(reply))));

function chainPackage(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "vibe.yaml"), "kind: vibe.app/v1\nid: dev.ghostd.bench\nname: Chain\nversion: 1.0.0\nruntime: {mode: compose}\n");
  const services = Array.from({ length: CHAIN }, (_, i) => `  s${i}:\n    command: [sleep, "3600"]\n    ports: ["8000"]\n${i > 0 ? `    depends_on: [s${i - 1}]\n` : ""}`);
  writeFileSync(join(dir, "compose.yaml"), `services:\n${services.join("")}`);
  return dir;
}

function servicePlan(i: number): ServicePlan {
  return { name: `s${i}`, entrypoint: [], command: ["sleep", "3600"], environment: {}, ports: [], mounts: [], dependsOn: [], restart: { policy: "no" }, stopSignal: "SIGTERM" };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-supervisor-"));
  const home = join(dir, "home");
  const ghostd = spawn(process.execPath, [join(packageRoot, "dist", "cli", "ghostd.js"), "serve", "--home", home, "--http", "off", "--log-level", "warn", "--sandbox", SANDBOX, "--port-range", "47000-47999"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  let bare: ChildProcess | undefined;
  try {
    await waitForFile(join(home, "run", "endpoints.json"), ghostd);
    const client = new SupervisorClient(`unix:${join(home, "run", "ghostd.sock")}`, credentials.createInsecure());
    const packagePath = chainPackage(join(dir, "chain"));
    await unary((cb) => client.ensureProject(EnsureProjectRequest.fromPartial({ projectId: "chain", appId: "dev.ghostd.bench", packagePath }), cb));
    await unary((cb) => client.openProject(OpenProjectRequest.fromPartial({ projectId: "chain" }), cb));

    // StartProject of the chain, then stop, again and again.
    process.stdout.write(`start of ${CHAIN} services in a depends_on chain, ${STARTS} runs (sandbox ${SANDBOX})\n`);
    const ours = await timeMeasured(STARTS, () =>
      measured(
        () => unary((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId: "chain" }), cb)),
        () => unary((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId: "chain", timeoutSeconds: 5 }), cb)),
      ),
    );
    const runtime = new ProcessRuntime({ sandbox: SANDBOX, env: process.env });
    const context = (i: number) => ({ projectId: "bench", namespace: "bench", packagePath, service: servicePlan(i), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, mounts: [], network: { services: [servicePlan(i).name], ports: [], egress: false } });
    const runtimeOnly = await timeMeasured(STARTS, () => {
      const running: RunningTask[] = [];
      return measured(
        async () => {
          for (let i = 0; i < CHAIN; i++) running.push(await runtime.start(context(i), () => undefined));
        },
        () => Promise.all(running.map((r) => runtime.stop(r.handle, { stopSignal: "SIGTERM", graceMs: 5000 }))),
      );
    });
    const bareSpawn = await timeMeasured(STARTS, () => {
      const children: ChildProcess[] = [];
      return measured(
        async () => {
          for (let i = 0; i < CHAIN; i++) {
            const child = spawn("sleep", ["3600"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
            await new Promise((resolve, reject) => child.once("spawn", resolve).once("error", reject));
            children.push(child);
          }
        },
        () => Promise.all(children.map((c) => new Promise((resolve) => c.once("close", resolve).kill("SIGKILL")))),
      );
    });
    process.stdout.write(`${line(`anchor: bare spawn of ${CHAIN} processes in a row`, bareSpawn)}\n`);
    process.stdout.write(`${line(`anchor: process runtime alone, ${CHAIN} in a row`, runtimeOnly)}\n`);
    process.stdout.write(`${line("ghostd: StartProject (with its 100 ms settle)", ours)}\n`);
    const overhead = (percentile(ours, 50) - SETTLE_MS - percentile(runtimeOnly, 50)) / CHAIN;
    process.stdout.write(`    supervisor overhead per service p50 ${overhead.toFixed(2)} ms without the settle, ${(overhead + SETTLE_MS / CHAIN).toFixed(2)} ms with it (target < 20 ms)\n`);
    process.stdout.write(`    ratio StartProject/runtime alone p50 ${(percentile(ours, 50) / percentile(runtimeOnly, 50)).toFixed(2)}\n`);

    // 1,000 projects in the registry; the chain runs, so its status has 10 services and ports.
    for (let i = 1; i < PROJECTS; i++) {
      await unary((cb) => client.ensureProject(EnsureProjectRequest.fromPartial({ projectId: `p${String(i).padStart(4, "0")}`, appId: "dev.ghostd.bench", packagePath }), cb));
    }
    await unary((cb) => client.startProject(StartProjectRequest.fromPartial({ projectId: "chain" }), cb));
    const status = () => unary<GetProjectStatusResponse>((cb) => client.getProjectStatus(GetProjectStatusRequest.fromPartial({ projectId: "chain" }), cb));
    const list = () => unary<ListProjectsResponse>((cb) => client.listProjects(ListProjectsRequest.fromPartial({}), cb));
    const listed = await list();
    if (listed.projects.length !== PROJECTS) throw new Error(`ListProjects gave ${listed.projects.length} projects`);
    const canned = join(dir, "responses.json");
    writeFileSync(canned, JSON.stringify({ list: ListProjectsResponse.toJSON(listed), status: GetProjectStatusResponse.toJSON(await status()) }));
    const bareSocket = join(dir, "bare.sock");
    bare = spawn(process.execPath, [join(packageRoot, "dist", "bench", "bare-grpc-server.js"), bareSocket, canned], { stdio: ["ignore", "ignore", "inherit"] });
    await waitForFile(bareSocket, bare);
    const anchor = new SupervisorClient(`unix:${bareSocket}`, credentials.createInsecure());

    process.stdout.write(`gRPC calls with ${PROJECTS} registered projects, ${CALLS} sequential calls each\n`);
    for (const [name, ourCall, theirCall] of [
      ["GetProjectStatus (10 services, 10 ports)", status, () => unary((cb) => anchor.getProjectStatus(GetProjectStatusRequest.fromPartial({ projectId: "chain" }), cb))],
      [`ListProjects (${PROJECTS} projects)`, list, () => unary((cb) => anchor.listProjects(ListProjectsRequest.fromPartial({}), cb))],
    ] as const) {
      const theirs = await time(CALLS, theirCall);
      const mine = await time(CALLS, ourCall);
      process.stdout.write(`${line(`anchor: bare grpc-js, ${name}`, theirs)}\n`);
      process.stdout.write(`${line(`ghostd: ${name}`, mine)}\n`);
      process.stdout.write(`    ratio ghostd/bare p50 ${(percentile(mine, 50) / percentile(theirs, 50)).toFixed(2)}; p50 ${percentile(mine, 50).toFixed(2)} ms (target < 2 ms)\n`);
    }
    await unary((cb) => client.stopProject(StopProjectRequest.fromPartial({ projectId: "chain", timeoutSeconds: 5 }), cb));
    anchor.close();
    client.close();
  } finally {
    bare?.kill("SIGTERM");
    ghostd.kill("SIGTERM");
    await new Promise((resolve) => (ghostd.exitCode === null ? ghostd.once("exit", resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `step` timed, then `cleanup` untimed; returns the step's ms. */
async function measured(step: () => Promise<unknown>, cleanup: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await step();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await cleanup();
  return ms;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
