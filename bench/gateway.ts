import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot, version } from "../cli/package-info";
import { record } from "./figures";
import { hostApiSocket, load, loadKeepAlive, spawnGhostd, stopAll, summarize, type LoadResult } from "./load";

// Host API throughput: GET /health through socket + gateway + agent (one `ghostd serve` process,
// its gateway calling the agent in-process), against the anchor, a bare Node http server on a
// Unix socket answering the same JSON with Connection: close. A second ghostd whose gateway calls
// over its gRPC socket (`--gateway-calls grpc`, as `ghostd gateway` calls a server elsewhere)
// shows what the hop costs. Then the Terminal API's list, GET /api/v2/terminals on kept-alive TCP
// connections, against a bare Node http server on 127.0.0.1 answering the same JSON. Each runs as
// its own process and takes the same load, interleaved.
//   npm run bench -- [seconds per round, default 4] [concurrency, default 16]

const ROUND_MS = Number(process.argv[2] ?? 4) * 1000;
const CONCURRENCY = Number(process.argv[3] ?? 16);
const ROUNDS = 3;
const BODY = JSON.stringify({ status: "ok", version });
const REQUEST = Buffer.from("GET /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
/** What the Terminal API answers for its list with no terminal open, and what its anchor answers. */
const LIST_BODY = JSON.stringify({ terminals: [] });

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

type Summary = ReturnType<typeof summarize>;

const row = (name: string, s: Summary): string =>
  `${name.padEnd(44)} ${s.rps.toFixed(0).padStart(8)} req/s   p50 ${s.p50.toFixed(2).padStart(6)} ms   p99 ${s.p99.toFixed(2).padStart(6)} ms   (${s.requests} requests)`;

/** Rounds of `run` on each side in turn after a warm-up, so drifts of the machine fall on all alike. */
async function interleaved<K extends string>(sides: Record<K, () => Promise<LoadResult>>, warmUp: Record<K, () => Promise<LoadResult>>): Promise<Record<K, Summary>> {
  const names = Object.keys(sides) as K[];
  const results = Object.fromEntries(names.map((name) => [name, [] as LoadResult[]])) as Record<K, LoadResult[]>;
  for (const name of names) await warmUp[name]();
  for (let round = 0; round < ROUNDS; round++) for (const name of names) results[name].push(await sides[name]());
  return Object.fromEntries(names.map((name) => [name, summarize(results[name])])) as Record<K, Summary>;
}

/** GET /health on the Host API, a new connection per request: bare, in-process, over gRPC. */
async function health(bareSocket: string, ours: string, overGrpc: string): Promise<void> {
  const side = (socket: string, ms: number) => () => load(socket, REQUEST, check, ms, CONCURRENCY);
  const { bare: b, ghostd: g, grpc: hop } = await interleaved(
    { bare: side(bareSocket, ROUND_MS), ghostd: side(ours, ROUND_MS), grpc: side(overGrpc, ROUND_MS) },
    { bare: side(bareSocket, 1000), ghostd: side(ours, 1000), grpc: side(overGrpc, 1000) },
  );
  process.stdout.write(`Host API GET /health, ${CONCURRENCY} clients, a new connection per request, ${ROUNDS} x ${ROUND_MS / 1000} s interleaved\n`);
  process.stdout.write(`${row("anchor: bare Node http on a Unix socket", b)}\n`);
  process.stdout.write(`${row("ghostd: socket + gateway + agent in-process", g)}\n`);
  process.stdout.write(`${row("ghostd --gateway-calls grpc: + the gRPC hop", hop)}\n`);
  process.stdout.write(`ratio ghostd/anchor: throughput ${(g.rps / b.rps).toFixed(2)} (target >= 0.60), p50 ${(g.p50 / b.p50).toFixed(2)}x, p99 ${(g.p99 / b.p99).toFixed(2)}x\n`);
  process.stdout.write(`ratio over gRPC/anchor: throughput ${(hop.rps / b.rps).toFixed(2)}\n`);
  record({ measure: "Host API GET /health, a connection per request", anchor: "bare Node http, Unix socket", anchorValue: b.rps, ours: g.rps, unit: "req/s", ratio: g.rps / b.rps, target: { op: ">=", value: 0.6 } });
}

/** GET /api/v2/terminals on kept-alive TCP connections, against a bare server answering the same JSON. */
async function terminalList(bareUrl: string, oursUrl: string): Promise<void> {
  const checkList = (status: number, body: string): void => {
    if (status !== 200 || body !== LIST_BODY) throw new Error(`unexpected: ${status} ${body}`);
  };
  const side = (url: string, ms: number) => () => loadKeepAlive(url, checkList, ms, CONCURRENCY);
  const { bare: b, ghostd: g } = await interleaved({ bare: side(bareUrl, ROUND_MS), ghostd: side(oursUrl, ROUND_MS) }, { bare: side(bareUrl, 1000), ghostd: side(oursUrl, 1000) });
  process.stdout.write(`Terminal API GET /api/v2/terminals, ${CONCURRENCY} clients on kept-alive connections, ${ROUNDS} x ${ROUND_MS / 1000} s interleaved\n`);
  process.stdout.write(`${row("anchor: bare Node http on 127.0.0.1", b)}\n`);
  process.stdout.write(`${row("ghostd: HTTP listener + gateway in-process", g)}\n`);
  process.stdout.write(`ratio ghostd/anchor: throughput ${(g.rps / b.rps).toFixed(2)} (target >= 0.60), p50 ${(g.p50 / b.p50).toFixed(2)}x\n`);
  record({ measure: "Terminal API GET /api/v2/terminals, keep-alive", anchor: "bare Node http, TCP", anchorValue: b.rps, ours: g.rps, unit: "req/s", ratio: g.rps / b.rps, target: { op: ">=", value: 0.6 } });
}

/** The port a `bare-tcp-server` prints once listening. */
function portOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once("exit", (code) => reject(new Error(`the bare TCP server exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-"));
  const bareSocket = join(dir, "bare.sock");
  const bare = spawn(process.execPath, [join(packageRoot, "dist", "bench", "bare-server.js"), bareSocket, BODY], { stdio: ["ignore", "pipe", "inherit"] });
  const bareTcp = spawn(process.execPath, [join(packageRoot, "dist", "bench", "bare-tcp-server.js"), LIST_BODY], { stdio: ["ignore", "pipe", "inherit"] });
  const ghostd = spawnGhostd(join(dir, "home"), ["--http", "127.0.0.1:0"]);
  const overGrpc = spawnGhostd(join(dir, "home-grpc"), ["--gateway-calls", "grpc"]);
  try {
    await waitUntil("the bare server", () => existsSync(bareSocket), bare);
    const hostApi = await hostApiSocket(join(dir, "home"), ghostd);
    await health(bareSocket, hostApi, await hostApiSocket(join(dir, "home-grpc"), overGrpc));
    const http = (JSON.parse(readFileSync(join(dir, "home", "run", "endpoints.json"), "utf8")) as { http: string }).http;
    await terminalList(`http://127.0.0.1:${await portOf(bareTcp)}/`, `${http}/api/v2/terminals`);
  } finally {
    await stopAll([bare, bareTcp, ghostd, overGrpc]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
