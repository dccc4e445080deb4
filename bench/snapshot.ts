import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnDaemon, type DaemonProcess } from "../test/helpers/daemon";
import { supervisorClient } from "../test/helpers/supervisor";
import { supervisorCalls, type SupervisorCalls } from "../test/helpers/supervisor-calls";
import { applyChange, describe, generate, sha256Of, type Composition } from "./snapshot-data";
import { diskUsage, restic, resticVersion, RssWatch, stopRestic, syncAll, treeTotals } from "./snapshot-tools";

// ghostd's snapshots against restic, side by side in one run on the same data: one directory,
// generated from a seed (bench/snapshot-data.ts), is a project's state volume `data` and what
// restic backs up. Each round, each tool with a fresh store: a full save, the same change (a
// region rewritten inside 1% of the large files), an incremental save, the store's size, and a
// restore of the first snapshot. ghostd runs as the real daemon, timed over gRPC; restic 0.14
// (Debian bookworm) with its defaults, its cache under the bench's temp dir. The two alternate
// step by step, each going first in every other round; `sync` (untimed) before each timed step.
//   npm run bench:snapshot -- [rounds, default 1] [size in MiB, default 1024]

const ROUNDS = Number(process.argv[2] ?? 1);
const SIZE_MIB = Number(process.argv[3] ?? 1024);
const SEED = "ghostd snapshot bench 1";
const PROJECT = "snapshot-bench";
const APP = "dev.ghostd.bench.snapshot";
const INSTALL = "restic is not installed: install Debian's restic (apt-get install restic)";
const MB = 1e6;
const MiB = 1024 * 1024;
/** The signal that stopped the bench, if one did. */
let stopped: NodeJS.Signals | undefined;

/** Between steps: a stopped bench starts no more. */
function goOn(): void {
  if (stopped) throw new Error(`stopped by ${stopped}`);
}

/** One tool's figures in one round: times in ms, sizes and memory in bytes. */
interface Figures {
  full: number;
  incremental: number;
  restore: number;
  apparent: number;
  allocated: number;
  peakRss: number;
  note: string;
}

/** One tool: each step timed by the tool itself (spawn or call to exit or answer). */
interface Side {
  readonly name: string;
  /** A fresh, empty store (untimed). */
  reset(): Promise<void>;
  full(figures: Figures): Promise<void>;
  incremental(figures: Figures): Promise<void>;
  /** Restores the round's first snapshot; returns the data directory it wrote, to be checked. */
  restore(figures: Figures): Promise<string>;
  store(): string;
  /** After the round's checks (untimed). */
  tidy(): Promise<void>;
}

interface Context {
  readonly dir: string;
  readonly state: string;
  readonly data: string;
  readonly composition: Composition;
}

const elapsed = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

function ghostdSide(calls: SupervisorCalls, daemon: DaemonProcess, ctx: Context): Side {
  let first = "";
  const pid = daemon.endpoints.pid;
  return {
    name: "ghostd",
    reset: () => rm(join(ctx.state, "snapshots"), { recursive: true, force: true }),
    async full(figures) {
      const before = new RssWatch(pid).stop().sampled;
      const watch = new RssWatch(pid);
      const t0 = process.hrtime.bigint();
      const saved = await calls.saveSnapshot({ projectId: PROJECT, labels: { bench: "full" } });
      figures.full = elapsed(t0);
      const { sampled, hwm } = watch.stop();
      // VmHWM lags a little (per-thread counters are folded in every 64 page faults): the larger of the two.
      figures.peakRss = Math.max(sampled, hwm ?? 0);
      figures.note += `full: size_bytes ${saved.sizeBytes}, added_bytes ${saved.addedBytes}; RSS before ${(before / MB).toFixed(1)} MB, peak sampled ${(sampled / MB).toFixed(1)} MB, VmHWM ${hwm === undefined ? "n/a" : (hwm / MB).toFixed(1)} MB. `;
      first = saved.snapshotId;
    },
    async incremental(figures) {
      const t0 = process.hrtime.bigint();
      const saved = await calls.saveSnapshot({ projectId: PROJECT, labels: { bench: "incremental" } });
      figures.incremental = elapsed(t0);
      figures.note += `incremental: added_bytes ${saved.addedBytes}. `;
    },
    async restore(figures) {
      const t0 = process.hrtime.bigint();
      await calls.restoreSnapshot({ projectId: PROJECT, snapshotId: first, createSafetySnapshot: false });
      figures.restore = elapsed(t0);
      return ctx.data;
    },
    store: () => join(ctx.state, "snapshots"),
    tidy: () => Promise.resolve(),
  };
}

function resticSide(ctx: Context): Side {
  const repo = join(ctx.dir, "restic-repo");
  const cache = join(ctx.dir, "restic-cache");
  const target = join(ctx.dir, "restic-restore");
  const env = { RESTIC_PASSWORD: "ghostd-bench", RESTIC_REPOSITORY: repo };
  const common = ["--cache-dir", cache];
  let first = "";
  let format = "";
  const backup = async (): Promise<{ ms: number; rss: number; id: string; added: number }> => {
    const done = await restic(["backup", ...common, "--json", ctx.data], env);
    const summary = done.stdout
      .split("\n")
      .filter((l) => l.includes('"summary"'))
      .map((l) => JSON.parse(l) as { snapshot_id: string; data_added: number })[0];
    if (!summary) throw new Error(`restic backup printed no summary: ${done.stdout.slice(-500)}`);
    return { ms: done.ms, rss: done.rss, id: summary.snapshot_id, added: summary.data_added };
  };
  return {
    name: "restic",
    async reset() {
      for (const path of [repo, cache, target]) rmSync(path, { recursive: true, force: true });
      await restic(["init", ...common], env);
      format = String((JSON.parse((await restic(["cat", "config", ...common], env)).stdout) as { version: number }).version);
    },
    async full(figures) {
      const done = await backup();
      Object.assign(figures, { full: done.ms, peakRss: done.rss });
      figures.note += `repository format ${format}; full: data_added ${done.added}; peak RSS sampled ${(done.rss / MB).toFixed(1)} MB. `;
      first = done.id;
    },
    async incremental(figures) {
      const done = await backup();
      figures.incremental = done.ms;
      figures.note += `incremental: data_added ${done.added}. `;
    },
    async restore(figures) {
      figures.restore = (await restic(["restore", ...common, first, "--target", target], env)).ms;
      return join(target, ctx.data);
    },
    store: () => repo,
    tidy: () => rm(target, { recursive: true, force: true }),
  };
}

/** The restored data must be the first snapshot's: every file there, the changed ones as they were. */
async function checkRestored(side: Side, dir: string, ctx: Context, originals: ReadonlyMap<string, string>): Promise<void> {
  const c = ctx.composition;
  const expected = { files: c.large.length + c.largeCopies + c.smallCount + c.smallCopies, bytes: c.large.reduce((t, f) => t + f.size, 0) + c.largeCopyBytes + c.smallBytes + c.smallCopyBytes };
  const found = await treeTotals(dir);
  if (found.files !== expected.files || found.bytes !== expected.bytes) throw new Error(`${side.name}'s restore holds ${found.files} files, ${found.bytes} bytes; the data had ${expected.files}, ${expected.bytes}`);
  for (const [path, digest] of originals) {
    if (sha256Of(join(dir, path)) !== digest) throw new Error(`${side.name}'s restore of ${path} is not the first snapshot's content`);
  }
}

async function round(sides: readonly Side[], ctx: Context, originals: ReadonlyMap<string, string>): Promise<Figures[]> {
  const figures = sides.map((): Figures => ({ full: NaN, incremental: NaN, restore: NaN, apparent: NaN, allocated: NaN, peakRss: NaN, note: "" }));
  const each = async (step: (side: Side, f: Figures) => Promise<unknown>): Promise<void> => {
    for (const [i, side] of sides.entries()) {
      await syncAll();
      goOn();
      await step(side, figures[i] as Figures);
    }
  };
  for (const side of sides) await side.reset();
  await each((side, f) => side.full(f));
  applyChange(ctx.data, ctx.composition);
  await each((side, f) => side.incremental(f));
  await each(async (side, f) => Object.assign(f, await diskUsage(side.store())));
  const restored: string[] = [];
  await each(async (side, f) => restored.push(await side.restore(f)));
  for (const [i, side] of sides.entries()) await checkRestored(side, restored[i] ?? "", ctx, originals);
  for (const side of sides) await side.tidy();
  return figures;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

type Row = readonly [measure: string, key: keyof Omit<Figures, "note">, unit: (v: number) => string, target: string, pass: (ghostd: number, ratio: number) => boolean];
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const ROWS: readonly Row[] = [
  ["full save", "full", seconds, "ratio <= 0.8", (_, r) => r <= 0.8],
  ["incremental save (after the change)", "incremental", seconds, "ratio <= 0.5", (_, r) => r <= 0.5],
  ["restore of the first snapshot", "restore", seconds, "ratio <= 1.0", (_, r) => r <= 1.0],
  ["store size, apparent (du -sb)", "apparent", mib, "ratio <= 1.0", (_, r) => r <= 1.0],
  ["store size, allocated (du -sB1)", "allocated", mib, "ratio <= 1.0", (_, r) => r <= 1.0],
  ["peak RSS during the full save", "peakRss", (b) => `${(b / MB).toFixed(1)} MB`, "ghostd < 200 MB", (g) => g < 200 * MB],
];

function table(ours: readonly Figures[], theirs: readonly Figures[]): string[] {
  const head = ["measure (median of rounds)".padEnd(38), "ghostd".padStart(12), "restic".padStart(12), "ratio".padStart(7), "  target"];
  const lines = [head.join(" | ")];
  for (const [measure, key, unit, target, pass] of ROWS) {
    const g = median(ours.map((f) => f[key]));
    const r = median(theirs.map((f) => f[key]));
    const ratio = g / r;
    lines.push([measure.padEnd(38), unit(g).padStart(12), unit(r).padStart(12), ratio.toFixed(3).padStart(7), `  ${target}: ${pass(g, ratio) ? "met" : "MISSED"}`].join(" | "));
  }
  return lines;
}

function writePackage(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "vibe.yaml"), `kind: vibe.app/v1\nid: ${APP}\nname: Snapshot bench\nversion: 1.0.0\nruntime: {mode: compose}\nstate:\n  volumes:\n    - {name: data, consistency: generic}\n`);
  writeFileSync(join(dir, "compose.yaml"), "services:\n  app:\n    command: [sleep, '3600']\n    volumes: ['data:/data']\nvolumes:\n  data: {}\n");
  return dir;
}

function notes(version: string): string[] {
  return [
    `ghostd: the daemon of this checkout, SaveSnapshot and RestoreSnapshot (create_safety_snapshot=false) over gRPC, call to answer; its store is <state>/snapshots`,
    `restic: ${version}, defaults (repository format as \`restic init\` makes it, compression zstd in auto mode), --cache-dir under the bench's temp dir; restic also encrypts and authenticates everything (AES-256-CTR + Poly1305-AES)`,
    `restic backs up the very directory ghostd saves (<state>/current/volumes/data); restic restores into a fresh directory, ghostd writes beside current/, swaps it in and removes the old tree`,
    `both see a warm page cache (the data was just written or restored); \`sync\` runs, untimed, before each timed step; rounds alternate which tool goes first`,
  ];
}

async function prepare(dir: string, calls: SupervisorCalls): Promise<Context> {
  const state = join(dir, "state");
  await calls.ensureProject({ projectId: PROJECT, appId: APP, packagePath: writePackage(join(dir, "package")), statePath: state });
  const data = join(state, "current", "volumes", "data");
  const t0 = process.hrtime.bigint();
  const composition = generate(data, SIZE_MIB, SEED);
  await syncAll();
  process.stderr.write(`generated the data in ${seconds(elapsed(t0))}\n`);
  return { dir, state, data, composition };
}

async function main(): Promise<void> {
  if (!(Number.isInteger(ROUNDS) && ROUNDS > 0 && SIZE_MIB > 0)) throw new Error("usage: npm run bench:snapshot -- [rounds, default 1] [size in MiB, default 1024]");
  const version = await resticVersion();
  if (!version) {
    process.stderr.write(`${INSTALL}\n`);
    process.exitCode = 1;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-snapshot-"));
  let daemon: DaemonProcess | undefined;
  // A signal ends what runs now (the daemon's call fails, restic exits) and lets no step start;
  // the one clean-up below then runs as after any failure.
  const stopOnSignal = (signal: NodeJS.Signals) => {
    stopped = signal;
    void stopRestic();
    void daemon?.stop().catch(() => undefined);
  };
  process.once("SIGINT", stopOnSignal).once("SIGTERM", stopOnSignal);
  try {
    daemon = await spawnDaemon({ home: join(dir, "home"), args: ["--http", "off", "--log-level", "warn", "--port-range", "47800-47849"] });
    const client = supervisorClient(daemon.endpoints.grpc ?? `unix:${join(daemon.home, "run", "ghostd.sock")}`);
    const calls = supervisorCalls(client);
    goOn();
    const ctx = await prepare(dir, calls);
    goOn();
    const originals = new Map(ctx.composition.changed.map((f) => [f.path, sha256Of(join(ctx.data, f.path))]));
    const sides = [ghostdSide(calls, daemon, ctx), resticSide(ctx)];
    const results: Figures[][] = [[], []];
    process.stdout.write(`snapshots: ghostd against restic, ${ROUNDS} round(s), ${SIZE_MIB} MiB\n${[...describe(ctx.composition), ...notes(version), load("at the start")].join("\n")}\n`);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      const figures = await round(order.map((i) => sides[i] as Side), ctx, originals);
      order.forEach((i, k) => results[i]?.push(figures[k] as Figures));
      for (const i of order) process.stdout.write(`round ${r + 1} ${sides[i]?.name} (${order[0] === i ? "first" : "second"}): ${line(results[i]?.[r])}\n`);
    }
    process.stdout.write(`${table(results[0] ?? [], results[1] ?? []).join("\n")}\n${load()}\n`);
    client.close();
  } finally {
    process.off("SIGINT", stopOnSignal).off("SIGTERM", stopOnSignal);
    await stopRestic();
    await daemon?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Other work on the machine moves every figure: the output says how busy it was. */
function load(when = "at the end"): string {
  return `machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} (1, 5, 15 min) ${when}`;
}

function line(f: Figures | undefined): string {
  if (!f) return "";
  return `full ${seconds(f.full)}, incremental ${seconds(f.incremental)}, restore ${seconds(f.restore)}, store ${mib(f.apparent)} apparent / ${mib(f.allocated)} allocated; ${f.note.trim()}`;
}

main().catch((err: unknown) => {
  if (stopped) process.stderr.write(`stopped by ${stopped}; the daemon, restic and the temp dir are gone\n`);
  else console.error(err);
  process.exitCode = stopped ? 130 : 1;
});
