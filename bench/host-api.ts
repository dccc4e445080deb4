import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot, version } from "../cli/package-info";
import { record } from "./figures";
import { exchange, hostApiSocket, line, load, percentile, spawnGhostd, stopAll, summarize, time, waitForFile } from "./load";

// The Host API against its anchors, side by side in one run:
//   exec of /bin/true through socket + gateway + agent (one `ghostd serve`, calling in-process), against
//     child_process.execFile('/bin/true') in this process (target: at most 1.5x its p50), and
//     `podman exec` into a running container (target: 20x faster; needs Podman and the image
//     ../shared/tools/container-engine.sh builds);
//   GET /health requests per second, against a bare Node http server on a Unix socket.
//   npm run bench:host-api -- [execs, default 300] [seconds of /health load, default 3]

const EXECS = Number(process.argv[2] ?? 300);
const HEALTH_SECONDS = Number(process.argv[3] ?? 3);
const IMAGE = "localhost/busybox:latest";
const run = promisify(execFile);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-host-"));
  const home = join(dir, "home");
  const ghostd = spawnGhostd(home);
  const bareSocket = join(dir, "bare.sock");
  const body = JSON.stringify({ status: "ok", version });
  const bare = spawn(process.execPath, [join(packageRoot, "dist", "bench", "bare-server.js"), bareSocket, body], { stdio: ["ignore", "ignore", "inherit"] });
  let container: string | undefined;
  try {
    const socket = await hostApiSocket(home, ghostd);
    await waitForFile(bareSocket, bare);
    const request = JSON.stringify({ command: "/bin/true" });
    const execRequest = Buffer.from(`POST /api/v1/exec HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${request.length}\r\n\r\n${request}`);

    process.stdout.write(`exec of /bin/true, ${EXECS} sequential runs each\n`);
    const ours = await time(EXECS, async () => {
      const response = await exchange(socket, execRequest);
      if (!response.includes('"exitCode":0')) throw new Error(`unexpected: ${response}`);
    });
    const inProcess = await time(EXECS, () => run("/bin/true"));
    process.stdout.write(`${line("anchor: execFile('/bin/true') in-process", inProcess)}\n`);
    process.stdout.write(`${line("ghostd: Host API socket + gateway + agent", ours)}\n`);
    const execRatio = percentile(ours, 50) / percentile(inProcess, 50);
    process.stdout.write(`    ratio ghostd/execFile p50 ${execRatio.toFixed(2)} (target <= 1.50)\n`);
    record({ measure: "Host API exec of /bin/true, p50", anchor: "execFile in-process", anchorValue: percentile(inProcess, 50), ours: percentile(ours, 50), unit: "ms", ratio: execRatio, target: { op: "<=", value: 1.5 } });

    const podman = spawnSync("podman", ["image", "exists", IMAGE]).status === 0;
    if (podman) {
      container = `ghostd-bench-${process.pid}`;
      await run("podman", ["run", "-d", "--name", container, IMAGE, "sleep", "3600"]);
      const podmanRuns = Math.max(10, Math.round(EXECS / 10));
      const theirs = await time(podmanRuns, () => run("podman", ["exec", container ?? "", "/bin/true"]));
      process.stdout.write(`${line(`anchor: podman exec (${podmanRuns} runs)`, theirs)}\n`);
      process.stdout.write(`    ratio podman/ghostd p50 ${(percentile(theirs, 50) / percentile(ours, 50)).toFixed(1)}x faster (target >= 20x)\n`);
    } else {
      process.stdout.write(`    podman exec: skipped, no Podman with ${IMAGE} here (run ../shared/tools/container-engine.sh up)\n`);
    }

    const healthRequest = Buffer.from("GET /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
    const check = (response: string): void => {
      if (!response.endsWith(body)) throw new Error(`unexpected: ${response}`);
    };
    const anchor = summarize([await load(bareSocket, healthRequest, check, HEALTH_SECONDS * 1000, 16)]);
    const health = summarize([await load(socket, healthRequest, check, HEALTH_SECONDS * 1000, 16)]);
    process.stdout.write(`GET /health, 16 clients, a new connection per request, ${HEALTH_SECONDS} s each\n`);
    process.stdout.write(`    anchor: bare Node http on a Unix socket        ${anchor.rps.toFixed(0).padStart(7)} req/s   p50 ${anchor.p50.toFixed(2)} ms\n`);
    process.stdout.write(`    ghostd: socket + gateway + agent               ${health.rps.toFixed(0).padStart(7)} req/s   p50 ${health.p50.toFixed(2)} ms\n`);
    process.stdout.write(`    ratio ghostd/anchor throughput ${(health.rps / anchor.rps).toFixed(2)}\n`);
  } finally {
    if (container) await run("podman", ["rm", "-f", "-t", "0", container]).catch(() => undefined);
    await stopAll([ghostd, bare]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
