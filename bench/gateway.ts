import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot, version } from "../cli/package-info";
import { record } from "./figures";
import { hostApiSocket, load, spawnGhostd, stopAll, summarize, type LoadResult } from "./load";

// Host API throughput: GET /health through socket + gateway + agent (one `ghostd serve` process,
// its gateway calling the agent in-process), against the anchor, a bare Node http server on a
// Unix socket answering the same JSON with Connection: close. A second ghostd whose gateway calls
// over its gRPC socket (`--gateway-calls grpc`, as `ghostd gateway` calls a server elsewhere)
// shows what the hop costs. Each runs as its own process and takes the same load, interleaved.
//   npm run bench -- [seconds per round, default 4] [concurrency, default 16]

const ROUND_MS = Number(process.argv[2] ?? 4) * 1000;
const CONCURRENCY = Number(process.argv[3] ?? 16);
const ROUNDS = 3;
const BODY = JSON.stringify({ status: "ok", version });
const REQUEST = Buffer.from("GET /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");

function check(response: string): void {
  if (!response.startsWith("HTTP/1.1 200 OK") || !response.endsWith(BODY)) throw new Error(`unexpected response: ${response}`);
}

async function waitUntil(what: string, ok: () => boolean, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!ok()) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-"));
  const bareSocket = join(dir, "bare.sock");
  const bare = spawn(process.execPath, [join(packageRoot, "dist", "bench", "bare-server.js"), bareSocket, BODY], { stdio: ["ignore", "pipe", "inherit"] });
  const ghostd = spawnGhostd(join(dir, "home"));
  const overGrpc = spawnGhostd(join(dir, "home-grpc"), ["--gateway-calls", "grpc"]);
  try {
    await waitUntil("the bare server", () => existsSync(bareSocket), bare);
    const sides = { bare: bareSocket, ghostd: await hostApiSocket(join(dir, "home"), ghostd), grpc: await hostApiSocket(join(dir, "home-grpc"), overGrpc) };
    const results: Record<keyof typeof sides, LoadResult[]> = { bare: [], ghostd: [], grpc: [] };
    for (const socket of Object.values(sides)) await load(socket, REQUEST, check, 1000, CONCURRENCY);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, socket] of Object.entries(sides) as [keyof typeof sides, string][]) {
        results[name].push(await load(socket, REQUEST, check, ROUND_MS, CONCURRENCY));
      }
    }
    const b = summarize(results.bare);
    const g = summarize(results.ghostd);
    const hop = summarize(results.grpc);
    const row = (name: string, s: typeof b): string =>
      `${name.padEnd(44)} ${s.rps.toFixed(0).padStart(8)} req/s   p50 ${s.p50.toFixed(2).padStart(6)} ms   p99 ${s.p99.toFixed(2).padStart(6)} ms   (${s.requests} requests)`;
    process.stdout.write(`Host API GET /health, ${CONCURRENCY} clients, a new connection per request, ${ROUNDS} x ${ROUND_MS / 1000} s interleaved\n`);
    process.stdout.write(`${row("anchor: bare Node http on a Unix socket", b)}\n`);
    process.stdout.write(`${row("ghostd: socket + gateway + agent in-process", g)}\n`);
    process.stdout.write(`${row("ghostd --gateway-calls grpc: + the gRPC hop", hop)}\n`);
    process.stdout.write(`ratio ghostd/anchor: throughput ${(g.rps / b.rps).toFixed(2)} (target >= 0.60), p50 ${(g.p50 / b.p50).toFixed(2)}x, p99 ${(g.p99 / b.p99).toFixed(2)}x\n`);
    process.stdout.write(`ratio over gRPC/anchor: throughput ${(hop.rps / b.rps).toFixed(2)}\n`);
    record({ measure: "Host API GET /health, a connection per request", anchor: "bare Node http, Unix socket", anchorValue: b.rps, ours: g.rps, unit: "req/s", ratio: g.rps / b.rps, target: { op: ">=", value: 0.6 } });
  } finally {
    await stopAll([bare, ghostd, overGrpc]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
