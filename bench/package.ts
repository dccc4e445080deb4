import { execFile } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildPackage } from "../server/supervisor/packages/build";
import { spawnDaemon } from "../test/helpers/daemon";
import { supervisorClient } from "../test/helpers/supervisor";
import { supervisorCalls } from "../test/helpers/supervisor-calls";
import { generate, records } from "./snapshot-data";
import { RssWatch, statusField, syncAll, treeTotals } from "./snapshot-tools";

// ImportPackage against `tar -xzf` followed by `sha256sum` of every file, side by side in one run
// on the same ~500 MB package: the snapshot bench's mixed data at 250 MiB (large files, 4 in 5
// incompressible, and thousands of small text files in nested directories) plus 10 files of 25 MiB
// (half log records, half pseudo-random), built once with ghostctl's builder and cached. ghostd
// runs as the real daemon, timed over gRPC from call to answer; its import includes a syncfs of
// the package, the anchor syncs nothing, so the anchor's time with a `sync -f` after it is printed
// beside. The anchor extracts into a fresh directory on the same filesystem. They alternate, each
// going first in every other round; `sync` (untimed) before each.
//   npm run bench:package -- [rounds, default 3]

const ROUNDS = Number(process.argv[2] ?? 3);
const CACHE = join(tmpdir(), "ghostd-bench-package-1");
const ARCHIVE = join(CACHE, "bench.vibeapp");
const APP = "dev.ghostd.bench.package";
const MB = 1e6;
const MiB = 1024 * 1024;
const run = promisify(execFile);

function pseudoRandom(name: string, length: number): Buffer {
  return createCipheriv("aes-256-ctr", createHash("sha256").update(name).digest(), Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** The package, made once: its source tree, then the archive. */
async function ensureArchive(): Promise<void> {
  if (existsSync(ARCHIVE)) return;
  const source = join(CACHE, "source");
  rmSync(source, { recursive: true, force: true });
  mkdirSync(join(source, "media"), { recursive: true });
  generate(join(source, "data"), 250, "ghostd package bench 1");
  for (let i = 0; i < 10; i++) writeFileSync(join(source, "media", `part-${i}.bin`), i % 2 === 0 ? records(`part ${i}`, 25 * MiB) : pseudoRandom(`part ${i}`, 25 * MiB));
  writeFileSync(join(source, "vibe.yaml"), `kind: vibe.app/v1\nid: ${APP}\nname: Package bench\nversion: 1.0.0\nruntime: {mode: native}\nservices:\n  - name: idle\n    command: [sleep, "3600"]\n`);
  await buildPackage(source, ARCHIVE);
  rmSync(source, { recursive: true, force: true });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

/**
 * The daemon's RSS once it stops changing (within 1 MB over 3 s, 30 s at most): V8 gives back
 * what loading the daemon's modules took some seconds after its start, and a daemon is rarely
 * asked for an import in those first seconds.
 */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 30; i++) {
    samples.push(statusField(pid, "VmRSS") ?? 0);
    const last = samples.slice(-4);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) < MB) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return samples.at(-1) ?? 0;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  await ensureArchive();
  const unpacked = await run("sh", ["-c", `gzip -dc ${ARCHIVE} | wc -c`]);
  const work = join(CACHE, "work");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  const daemon = await spawnDaemon({ home: join(work, "home"), args: ["--log-level", "warn", "--http", "off"] });
  const client = supervisorClient(daemon.endpoints.grpc ?? "");
  const calls = supervisorCalls(client);
  const pid = daemon.child.pid ?? 0;
  const idle = await settledRss(pid);
  const ours: { ms: number; peak: number; before: number }[] = [];
  const anchor: number[] = [];
  const anchorSync: number[] = [];
  const oursOnce = async (): Promise<void> => {
    rmSync(join(daemon.home, "packages", APP), { recursive: true, force: true });
    await syncAll();
    const before = new RssWatch(pid).stop().sampled;
    const watch = new RssWatch(pid);
    const { ms } = await timed(() => calls.importPackage({ packageDataPath: ARCHIVE }));
    const { sampled, hwm } = watch.stop();
    ours.push({ ms, peak: Math.max(sampled, hwm ?? 0), before });
  };
  const anchorOnce = async (): Promise<void> => {
    const out = join(work, "anchor");
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    await syncAll();
    const { ms } = await timed(() => run("sh", ["-c", `tar -xzf ${ARCHIVE} -C ${out} && find ${out} -type f -print0 | xargs -0 sha256sum > /dev/null`]));
    anchor.push(ms);
    // Not the anchor, printed beside it: what the anchor's files take to reach the disk, as ghostd's do.
    anchorSync.push((await timed(() => run("sync", ["-f", out]))).ms);
  };
  try {
    await oursOnce();
    await anchorOnce();
    ours.length = 0;
    anchor.length = 0;
    anchorSync.length = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const step of round % 2 === 0 ? [oursOnce, anchorOnce] : [anchorOnce, oursOnce]) await step();
    }
    const totals = await treeTotals(join(daemon.home, "packages", APP, "1.0.0"));
    report(totals, Number(unpacked.stdout.trim()), idle, ours, anchor, anchorSync);
  } finally {
    client.close();
    await daemon.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function report(totals: { files: number; bytes: number }, tarBytes: number, idle: number, ours: { ms: number; peak: number; before: number }[], anchor: number[], anchorSync: number[]): void {
  const lines = [
    `package: ${totals.files} files, ${(totals.bytes / MB).toFixed(1)} MB unpacked (${(tarBytes / MB).toFixed(1)} MB of tar); ${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}`,
    `daemon RSS idle, settled after its start: ${(idle / MB).toFixed(1)} MB`,
    "round  ghostd import   tar -xzf + sha256sum   throughput ratio   (anchor + sync -f: ratio)   daemon RSS before -> peak",
    ...ours.map((o, i) => {
      const a = anchor[i] ?? NaN;
      const synced = a + (anchorSync[i] ?? NaN);
      return `${String(i + 1).padStart(5)}  ${(o.ms / 1000).toFixed(2).padStart(10)} s   ${(a / 1000).toFixed(2).padStart(17)} s   ${(a / o.ms).toFixed(2).padStart(14)}x   ${(synced / 1000).toFixed(2).padStart(10)} s: ${(synced / o.ms).toFixed(2)}x   ${(o.before / MB).toFixed(1)} -> ${(o.peak / MB).toFixed(1)} MB`;
    }),
  ];
  const ms = median(ours.map((o) => o.ms));
  const anchorMs = median(anchor);
  const syncedMs = median(anchor.map((a, i) => a + (anchorSync[i] ?? NaN)));
  lines.push(
    `median ${(ms / 1000).toFixed(2).padStart(10)} s   ${(anchorMs / 1000).toFixed(2).padStart(17)} s   ${(anchorMs / ms).toFixed(2).padStart(14)}x   ${(syncedMs / 1000).toFixed(2).padStart(10)} s: ${(syncedMs / ms).toFixed(2)}x   peak ${(median(ours.map((o) => o.peak)) / MB).toFixed(1)} MB`,
    `targets: throughput >= 0.70x the anchor's; daemon peak RSS < 100 MB`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:package failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
