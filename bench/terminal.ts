import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../cli/package-info";
import { record } from "./figures";
import { percentile } from "./load";

// Terminals against tmux (Debian's), side by side in one run:
//   (a) round trip: type "echo MARK_n" + Enter until the screen shows MARK_n
//       ghostd: POST input, then POST wait (the server watches the screen)
//       tmux:   send-keys, then capture-pane polled until it shows the mark
//   (b) `cat` of 50 MiB of text until the prompt's marker shows
//   (c) resident memory per idle terminal with 10,000 lines of scrollback filled
//   (d) resident memory 100 more idle terminals add, at their prompts
// Memory is read settled (SETTLE_MS below): idle ghostd terminals give up their xterm.js
// instances after 10 s; what the daemon held right after is printed beside.
// Both run bash --noprofile --norc with the same HOME, in 120x40 cells. They run in the order
// (a), (d), (c), (b): memory is measured before the cat leaves freed room in either process.
//   npm run bench:terminal -- [round trips, default 200] [MiB to cat, default 50] [terminals for memory, default 20] [idle terminals, default 100]

const ROUND_TRIPS = Number(process.argv[2] ?? 200);
const CAT_MIB = Number(process.argv[3] ?? 50);
const MEMORY_TERMINALS = Number(process.argv[4] ?? 20);
const IDLE_TERMINALS = Number(process.argv[5] ?? 100);
/**
 * Memory is read once a process has been left alone this long: ghostd's terminals sleep after
 * 10 s unused (session.ts), and V8 gives freed pages back only when its memory reducer runs, up
 * to a minute after the process went quiet. Both readings of a difference are taken so settled.
 */
const SETTLE_MS = 60_000;

async function settledRssKiB(pid: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return rssKiB(pid);
}
const run = promisify(execFile);
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-term-"));
const home = join(dir, "home");
const TMUX = ["-L", `ghostd-bench-${process.pid}`, "-f", "/dev/null"];

function post(base: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const data = JSON.stringify(body);
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function ok(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const reply = await post(base, path, body);
  if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply.json;
}

/** The shell a tmux window runs, as the terminals run theirs, with `prompt` as its PS1. */
const tmuxShell = (prompt: string): string => `env -i HOME=${home} PATH=/usr/bin:/bin TERM=screen PS1='${prompt}' bash --noprofile --norc`;

const tmux = (...args: string[]) => run("tmux", [...TMUX, ...args], { maxBuffer: 64 * 1024 * 1024 });

async function tmuxUntil(target: string, mark: string, everyMs = 0): Promise<void> {
  for (;;) {
    const { stdout } = await tmux("capture-pane", "-p", "-t", target);
    if (stdout.includes(mark)) return;
    if (everyMs) await new Promise((r) => setTimeout(r, everyMs));
  }
}

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? NaN);
}

async function tmuxServerPid(): Promise<number> {
  const { stdout } = await tmux("display-message", "-p", "#{pid}");
  return Number(stdout.trim());
}

function stats(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/**
 * (d) What 100 more idle terminals, each at its prompt with nothing in its scrollback, add to the
 * daemon's resident memory, against what 100 more windows add to the tmux server's.
 */
async function idleTerminals(base: string, newTerminal: () => Promise<string>, ghostdPid: number): Promise<void> {
  const ghostdBefore = await settledRssKiB(ghostdPid);
  for (let i = 0; i < IDLE_TERMINALS; i++) {
    const t = await newTerminal();
    await ok(base, `/api/v2/terminals/${t}/wait`, { match: "[$#] $", timeout_ms: 10_000 });
  }
  const oursAtOnce = (rssKiB(ghostdPid) - ghostdBefore) / 1024;
  const ours = ((await settledRssKiB(ghostdPid)) - ghostdBefore) / 1024;
  const tmuxPid = await tmuxServerPid();
  const tmuxBefore = rssKiB(tmuxPid);
  for (let i = 0; i < IDLE_TERMINALS; i++) {
    await tmux("new-window", "-t", "bench", tmuxShell("IDLE$ "));
    // capture-pane trims the prompt's trailing space.
    await tmuxUntil("bench", "IDLE$", 5);
  }
  const theirs = (rssKiB(tmuxPid) - tmuxBefore) / 1024;
  process.stdout.write(`(d) resident memory ${IDLE_TERMINALS} more idle terminals add (at their prompts, no scrollback, settled ${SETTLE_MS / 1000} s; the shells' own memory is not counted)\n`);
  process.stdout.write(`    tmux server   ${theirs.toFixed(1)} MiB\n    ghostd daemon ${ours.toFixed(1)} MiB (${oursAtOnce.toFixed(1)} MiB right after they started)\n    ratio ghostd/tmux ${(ours / theirs).toFixed(2)} (target <= 1.00)\n`);
  record({ measure: `daemon RSS for ${IDLE_TERMINALS} idle terminals`, anchor: `tmux server, ${IDLE_TERMINALS} windows`, anchorValue: theirs, ours, unit: "MiB", ratio: ours / theirs, target: { op: "<=", value: 1 } });
}

async function main(): Promise<void> {
  await run("mkdir", ["-p", home]);
  const ghostd: ChildProcess = spawn(
    process.execPath,
    [join(packageRoot, "dist", "cli", "ghostd.js"), "serve", "--home", join(dir, "ghostd"), "--http", "127.0.0.1:0", "--log-level", "warn", "--scrollback", "10000"],
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, HOME: home } },
  );
  const endpoints = join(dir, "ghostd", "run", "endpoints.json");
  for (let i = 0; !existsSync(endpoints); i++) {
    if (i > 750 || ghostd.exitCode !== null) throw new Error("ghostd did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const base = (JSON.parse(readFileSync(endpoints, "utf8")) as { http: string }).http;
  const shellEnv = { SHELL: "/bin/bash", HOME: home, PS1: "$ " };
  const newTerminal = async (): Promise<string> => {
    const t = await ok(base, "/api/v2/terminals", { env: shellEnv, command: "exec bash --noprofile --norc" });
    return String(t.id);
  };
  await tmux("new-session", "-d", "-s", "bench", "-x", "120", "-y", "40", tmuxShell("$ "));
  await tmux("set-option", "-g", "history-limit", "10000");
  try {
    // (a) round trips
    const id = await newTerminal();
    await ok(base, `/api/v2/terminals/${id}/wait`, { match: "[$#] $", timeout_ms: 10_000 });
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let n = -20; n < ROUND_TRIPS; n++) {
      const mark = `MARK_${n + 1000}`;
      let t0 = process.hrtime.bigint();
      await ok(base, `/api/v2/terminals/${id}/input`, { text: `echo ${mark}`, enter: true });
      await ok(base, `/api/v2/terminals/${id}/wait`, { match: `^${mark}$`, timeout_ms: 10_000 });
      if (n >= 0) ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
      t0 = process.hrtime.bigint();
      await tmux("send-keys", "-t", "bench", `echo T${mark}`, "Enter");
      await tmuxUntil("bench", `\nT${mark}\n`);
      if (n >= 0) theirs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const a = stats(ours);
    const b = stats(theirs);
    process.stdout.write(`(a) input "echo MARK" + Enter until the screen shows it, ${ROUND_TRIPS} round trips\n`);
    process.stdout.write(`    tmux send-keys + capture-pane polling   p50 ${b.p50.toFixed(2)} ms   p99 ${b.p99.toFixed(2)} ms\n`);
    process.stdout.write(`    ghostd POST input + POST wait            p50 ${a.p50.toFixed(2)} ms   p99 ${a.p99.toFixed(2)} ms\n`);
    process.stdout.write(`    ratio ghostd/tmux p50 ${(a.p50 / b.p50).toFixed(2)} (target <= 1.00)\n`);
    record({ measure: "terminal input until shown, p50", anchor: "tmux send-keys + capture-pane", anchorValue: b.p50, ours: a.p50, unit: "ms", ratio: a.p50 / b.p50, target: { op: "<=", value: 1 } });

    await idleTerminals(base, newTerminal, ghostd.pid ?? 0);

    // (c) memory per idle terminal with its scrollback full
    const fill = "seq -f 'scrollback line %06g with some text to fill it' 1 12000; echo FILL_''DONE";
    const ghostdBefore = rssKiB(ghostd.pid ?? 0);
    const ids = [];
    for (let i = 0; i < MEMORY_TERMINALS; i++) {
      const t = await newTerminal();
      ids.push(t);
      await ok(base, `/api/v2/terminals/${t}/wait`, { match: "[$#] $", timeout_ms: 10_000 });
      await ok(base, `/api/v2/terminals/${t}/input`, { text: fill, enter: true });
      await ok(base, `/api/v2/terminals/${t}/wait`, { match: "^FILL_DONE$", timeout_ms: 60_000 });
    }
    const ghostdAtOnce = rssKiB(ghostd.pid ?? 0);
    const ghostdAfter = await settledRssKiB(ghostd.pid ?? 0);
    const tmuxPid = await tmuxServerPid();
    const tmuxBefore = rssKiB(tmuxPid);
    for (let i = 0; i < MEMORY_TERMINALS; i++) {
      await tmux("new-window", "-t", "bench", tmuxShell("$ "));
      await tmux("send-keys", "-t", "bench", fill, "Enter");
      await tmuxUntil("bench", "\nFILL_DONE\n", 5);
    }
    const tmuxAfter = rssKiB(tmuxPid);
    const oursPer = (ghostdAfter - ghostdBefore) / MEMORY_TERMINALS / 1024;
    const theirsPer = (tmuxAfter - tmuxBefore) / MEMORY_TERMINALS / 1024;
    const oursAtOnce = (ghostdAtOnce - ghostdBefore) / MEMORY_TERMINALS / 1024;
    process.stdout.write(`(c) resident memory per idle terminal, 10,000 lines of scrollback filled (${MEMORY_TERMINALS} terminals, settled ${SETTLE_MS / 1000} s; the shells' own memory is not counted)\n`);
    process.stdout.write(`    tmux server   ${theirsPer.toFixed(2)} MiB\n    ghostd daemon ${oursPer.toFixed(2)} MiB (${oursAtOnce.toFixed(2)} MiB right after the fill)\n    ratio ghostd/tmux ${(oursPer / theirsPer).toFixed(2)} (target <= 1.00)\n`);
    record({ measure: "RSS per idle terminal, 10,000 lines of scrollback", anchor: "tmux server", anchorValue: theirsPer, ours: oursPer, unit: "MiB", ratio: oursPer / theirsPer, target: { op: "<=", value: 1 } });

    // (b) cat of a large file
    const file = join(dir, "text.txt");
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      const line = `${"the quick brown fox jumps over the lazy dog 0123456789 ".repeat(2).trimEnd()}\n`;
      const chunk = line.repeat(Math.ceil((1024 * 1024) / line.length));
      let written = 0;
      const write = (): void => {
        while (written < CAT_MIB * 1024 * 1024) {
          written += chunk.length;
          if (!out.write(chunk)) return void out.once("drain", write);
        }
        out.end(resolve);
      };
      out.on("error", reject);
      write();
    });
    let t0 = Date.now();
    await ok(base, `/api/v2/terminals/${id}/input`, { text: `cat ${file}; echo CAT_''DONE`, enter: true });
    await ok(base, `/api/v2/terminals/${id}/wait`, { match: "^CAT_DONE$", timeout_ms: 600_000 });
    const oursCat = (Date.now() - t0) / 1000;
    t0 = Date.now();
    await tmux("send-keys", "-t", "bench", `cat ${file}; echo CAT_''DONE`, "Enter");
    await tmuxUntil("bench", "\nCAT_DONE\n", 5);
    const theirsCat = (Date.now() - t0) / 1000;
    process.stdout.write(`(b) cat of ${CAT_MIB} MiB of text until the marker after it shows\n`);
    process.stdout.write(`    tmux   ${theirsCat.toFixed(2)} s\n    ghostd ${oursCat.toFixed(2)} s\n    ratio ghostd/tmux ${(oursCat / theirsCat).toFixed(2)} (target <= 1.00)\n`);
    record({ measure: `terminal cat of ${CAT_MIB} MiB`, anchor: "tmux", anchorValue: theirsCat, ours: oursCat, unit: "s", ratio: oursCat / theirsCat, target: { op: "<=", value: 1 } });
  } finally {
    await tmux("kill-server").catch(() => undefined);
    ghostd.kill("SIGTERM");
    await new Promise((resolve) => (ghostd.exitCode !== null ? resolve(null) : ghostd.once("exit", resolve)));
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
