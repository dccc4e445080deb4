import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Agent, get as httpGet } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { packageRoot } from "../cli/package-info";

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
}

/** One request on a fresh Unix socket connection, read until the server closes it. */
export function exchange(socketPath: string, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString()));
    socket.write(request);
  });
}

/** `concurrency` clients sending requests back to back for `durationMs`; every answer is checked. */
export function load(socketPath: string, request: Buffer, check: (response: string) => void, durationMs: number, concurrency: number): Promise<LoadResult> {
  return drive(async () => check(await exchange(socketPath, request)), durationMs, concurrency);
}

/** `concurrency` workers running `once` back to back for `durationMs`, each run timed. */
async function drive(once: () => Promise<void>, durationMs: number, concurrency: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const started = process.hrtime.bigint();
  const deadline = Date.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const t0 = process.hrtime.bigint();
      await once();
      latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests: latenciesMs.length, seconds: Number(process.hrtime.bigint() - started) / 1e9, latenciesMs };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export function summarize(results: readonly LoadResult[]): { rps: number; p50: number; p99: number; requests: number } {
  const latencies = results.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  return { rps: requests / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), requests };
}

/** `n` sequential runs of `once` after a short warm-up; the latencies in ms, sorted. */
export function time(n: number, once: () => Promise<unknown>): Promise<number[]> {
  return timeMeasured(n, async () => {
    const t0 = process.hrtime.bigint();
    await once();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  });
}

/** Like `time`, for runs that time themselves (to leave their cleanup out): `once` returns its ms. */
export async function timeMeasured(n: number, once: () => Promise<number>): Promise<number[]> {
  for (let i = 0; i < Math.min(20, n); i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await once());
  return samples.sort((a, b) => a - b);
}

/** One result line: a name, then p50 and p99 of sorted samples. */
export function line(name: string, samples: readonly number[]): string {
  return `    ${name.padEnd(48)} p50 ${percentile(samples, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(samples, 99).toFixed(2).padStart(7)} ms`;
}

/** Waits for a file a child process writes when it is ready (its socket, an endpoints file). */
export async function waitForFile(path: string, child: ChildProcess): Promise<void> {
  for (let i = 0; !existsSync(path); i++) {
    if (i > 750 || child.exitCode !== null) throw new Error(`${path} never appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `ghostd serve` on its own home with the Host API socket and no HTTP listener, as the benchmarks run it; `args` are more flags. */
export function spawnGhostd(home: string, args: readonly string[] = []): ChildProcess {
  const command = [join(packageRoot, "dist", "cli", "ghostd.js"), "serve", "--home", home, "--http", "off", "--log-level", "warn", ...args];
  return spawn(process.execPath, command, { stdio: ["ignore", "ignore", "inherit"] });
}

/** The Host API socket of a daemon from `spawnGhostd`, once it is listening (it writes its endpoints then). */
export async function hostApiSocket(home: string, ghostd: ChildProcess): Promise<string> {
  const endpoints = join(home, "run", "endpoints.json");
  await waitForFile(endpoints, ghostd);
  return (JSON.parse(readFileSync(endpoints, "utf8")) as { host_api: { local: string } }).host_api.local;
}

/** Sends SIGTERM to each child and waits until every one has exited. */
export async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  const exited = children.map((c) => new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(null) : c.once("exit", resolve))));
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(exited);
}

/**
 * `concurrency` clients on kept-alive HTTP connections to `url`, sending GETs back to back for
 * `durationMs`; every answer is checked.
 */
export async function loadKeepAlive(url: string, check: (status: number, body: string) => void, durationMs: number, concurrency: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const once = async (): Promise<void> => {
    const { status, body } = await getKeptAlive(url, agent);
    check(status, body);
  };
  try {
    return await drive(once, durationMs, concurrency);
  } finally {
    agent.destroy();
  }
}

/** One GET on the agent's kept-alive connections: its status and whole body. */
function getKeptAlive(url: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
  });
}
