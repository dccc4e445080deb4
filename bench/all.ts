import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../cli/package-info";
import { FIGURES_ENV, met, type Figure } from "./figures";

// Every benchmark that measures ghostd against an anchor, one after the other (they would steal
// each other's CPU side by side), each printing its own lines; then one table of every figure.
//   npm run bench:all

const BENCHES: readonly { readonly name: string; readonly args: readonly string[] }[] = [
  { name: "gateway", args: ["3", "16"] },
  { name: "host-api", args: ["300", "3"] },
  { name: "cli-start", args: ["30"] },
  { name: "terminal", args: ["200", "50", "20"] },
  { name: "tunnel", args: [] },
];

function runBench(name: string, args: readonly string[], figures: string): Promise<number> {
  process.stdout.write(`\n## bench:${name}\n`);
  const child = spawn(process.execPath, ["--enable-source-maps", join(packageRoot, "dist", "bench", `${name}.js`), ...args], {
    stdio: "inherit",
    env: { ...process.env, [FIGURES_ENV]: figures },
  });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

const number = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => {
    const target = f.target ? `${f.target.op} ${f.target.value.toFixed(2)}` : "(reported)";
    const verdict = f.target ? (met(f) ? "met" : "missed") : "";
    return `| ${f.measure} | ${f.anchor}: ${number(f.anchorValue)} ${f.unit} | ${number(f.ours)} ${f.unit} | ${f.ratio.toFixed(2)}x | ${target} | ${verdict} |`;
  });
  return ["| measure | anchor | ghostd | ghostd/anchor | target | |", "| --- | --- | --- | --- | --- | --- |", ...rows].join("\n");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-all-"));
  const figures = join(dir, "figures.jsonl");
  const started = Date.now();
  const failed: string[] = [];
  try {
    for (const bench of BENCHES) {
      const t0 = Date.now();
      const code = await runBench(bench.name, bench.args, figures);
      process.stdout.write(`(bench:${bench.name} took ${((Date.now() - t0) / 1000).toFixed(0)} s${code === 0 ? "" : `, and failed with exit code ${code}`})\n`);
      if (code !== 0) failed.push(bench.name);
    }
    const collected = existsSync(figures) ? readFileSync(figures, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Figure) : [];
    process.stdout.write(`\n## Summary (${((Date.now() - started) / 1000).toFixed(0)} s in all)\n\n${table(collected)}\n`);
    if (failed.length > 0) {
      process.stdout.write(`\nfailed: ${failed.join(", ")}\n`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:all failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
