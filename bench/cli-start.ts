import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../cli/package-info";
import { record } from "./figures";
import { hostApiSocket, line, percentile, spawnGhostd, stopAll, time } from "./load";

// ghostctl's start-up, against its anchors in one run: the wall time of `ghostctl status` (a
// whole command: start Node, load the CLI, one gRPC call to a running daemon, print) against
// `node -e 0` (Node's own start-up: the floor of any Node CLI; target at most 1.5x) and, when
// Debian's tmux is here, `tmux ls` against a running tmux server (a native tool's answer).
//   npm run bench:cli -- [runs, default 30]

const RUNS = Number(process.argv[2] ?? 30);
const run = promisify(execFile);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-cli-"));
  const home = join(dir, "home");
  const ghostd = spawnGhostd(home);
  const tmux = spawnSync("tmux", ["-V"]).status === 0;
  const tmuxArgs = ["-L", `ghostd-bench-${process.pid}`, "-f", "/dev/null"];
  try {
    await hostApiSocket(home, ghostd);
    const ghostctl = [join(packageRoot, "dist", "cli", "ghostctl.js"), "--home", home, "status"];
    await run(process.execPath, ghostctl);
    const node = await time(RUNS, () => run(process.execPath, ["-e", "0"]));
    const ours = await time(RUNS, () => run(process.execPath, ghostctl));
    process.stdout.write(`wall time of one command, ${RUNS} sequential runs each\n`);
    process.stdout.write(`${line("anchor: node -e 0", node)}\n`);
    if (tmux) {
      await run("tmux", [...tmuxArgs, "new-session", "-d", "-s", "bench"]);
      const theirs = await time(RUNS, () => run("tmux", [...tmuxArgs, "ls"]));
      process.stdout.write(`${line("anchor: tmux ls (a native tool)", theirs)}\n`);
    }
    process.stdout.write(`${line("ghostd: ghostctl status", ours)}\n`);
    const ratio = percentile(ours, 50) / percentile(node, 50);
    process.stdout.write(`    ratio ghostctl/node p50 ${ratio.toFixed(2)} (target <= 1.50)\n`);
    record({ measure: "ghostctl status wall time, p50", anchor: "node -e 0", anchorValue: percentile(node, 50), ours: percentile(ours, 50), unit: "ms", ratio, target: { op: "<=", value: 1.5 } });
  } finally {
    if (tmux) await run("tmux", [...tmuxArgs, "kill-server"]).catch(() => undefined);
    await stopAll([ghostd]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
