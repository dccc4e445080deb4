import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { spawn as spawnPty } from "node-pty";
import WebSocket from "ws";
import { packageRoot } from "../cli/package-info";
import { record } from "./figures";
import { hostApiSocket, line, percentile, spawnGhostd, stopAll } from "./load";

// Host API tunnels and the shell against their anchors, side by side in one run:
//   throughput of a tunnel (client -> Host API socket -> gateway -> gRPC -> agent -> guest port)
//     against a direct TCP connection to the same guest port, upload and download (target: at
//     least 0.7x);
//   keystroke echo round trip of the WebSocket shell against `ssh localhost` when an sshd
//     answers, else against a bare PTY running the same shell in this process (the ratio is
//     reported).
//   npm run bench:tunnel -- [MiB per transfer, default 512] [rounds, default 3] [keystrokes, default 200]

const MIB_PER_TRANSFER = Number(process.argv[2] ?? 512);
const ROUNDS = Number(process.argv[3] ?? 3);
const KEYSTROKES = Number(process.argv[4] ?? 200);
const MiB = 1024 * 1024;
const block = Buffer.alloc(MiB, 3);

type Opener = (port: number) => Promise<Socket>;

const direct: Opener = (port) =>
  new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => resolve(socket));
    socket.once("error", reject);
  });

function viaTunnel(socketPath: string): Opener {
  return (port) =>
    new Promise((resolve, reject) => {
      const socket = connect({ path: socketPath, allowHalfOpen: true });
      let head = "";
      const onData = (chunk: Buffer): void => {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        socket.off("data", onData);
        if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(head));
        socket.pause();
        resolve(socket);
      };
      socket.on("data", onData);
      socket.once("error", reject);
      socket.write(`GET /api/v1/tunnel-connect HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tunnel\r\nTunnel-Port: ${port}\r\n\r\n`);
    });
}

/** Seconds to send MIB_PER_TRANSFER to the sink and hear its count back. */
async function upload(open: Opener, port: number): Promise<number> {
  const started = process.hrtime.bigint();
  const socket = await open(port);
  const answer = new Promise<string>((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
    socket.on("end", () => resolve(text));
    socket.resume();
  });
  for (let i = 0; i < MIB_PER_TRANSFER; i++) if (!socket.write(block)) await new Promise((resolve) => socket.once("drain", resolve));
  socket.end();
  if (Number(await answer) !== MIB_PER_TRANSFER * MiB) throw new Error("the sink did not get every byte");
  socket.destroy();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds to receive MIB_PER_TRANSFER from the source. */
async function download(open: Opener, port: number): Promise<number> {
  const started = process.hrtime.bigint();
  const socket = await open(port);
  let bytes = 0;
  const done = new Promise<void>((resolve) => socket.on("end", resolve));
  socket.on("data", (chunk: Buffer) => (bytes += chunk.length));
  socket.write(String(MIB_PER_TRANSFER));
  socket.resume();
  await done;
  socket.destroy();
  if (bytes !== MIB_PER_TRANSFER * MiB) throw new Error(`got ${bytes} bytes`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function throughput(name: string, run: (open: Opener) => Promise<number>, tunnel: Opener): Promise<void> {
  const ours: number[] = [];
  const anchor: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    anchor.push(MIB_PER_TRANSFER / (await run(direct)));
    ours.push(MIB_PER_TRANSFER / (await run(tunnel)));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  process.stdout.write(`${name}, ${MIB_PER_TRANSFER} MiB, ${ROUNDS} rounds (MiB/s, median)\n`);
  process.stdout.write(`  anchor: direct TCP to the guest port   ${median(anchor).toFixed(0)}   (${anchor.map((x) => x.toFixed(0)).join(", ")})\n`);
  process.stdout.write(`  ghostd: tunnel through the Host API    ${median(ours).toFixed(0)}   (${ours.map((x) => x.toFixed(0)).join(", ")})\n`);
  process.stdout.write(`    ratio ghostd/direct ${(median(ours) / median(anchor)).toFixed(2)} (target >= 0.70)\n`);
  record({ measure: `tunnel ${name.split(" ")[0]}`, anchor: "direct TCP", anchorValue: median(anchor), ours: median(ours), unit: "MiB/s", ratio: median(ours) / median(anchor), target: { op: ">=", value: 0.7 } });
}

/** Milliseconds from typing one character to seeing it echoed, KEYSTROKES times. */
async function echoes(write: (data: string) => void, output: { text: string }): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < KEYSTROKES; i++) {
    const mark = output.text.length;
    const started = process.hrtime.bigint();
    write("x");
    while (!output.text.slice(mark).includes("x")) await new Promise((resolve) => setImmediate(resolve));
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  write("\x15");
  return samples.sort((a, b) => a - b);
}

async function shellEcho(socketPath: string): Promise<number[]> {
  const ws = new WebSocket(`ws+unix://${socketPath}:/api/v1/shell`);
  const output = { text: "" };
  ws.on("message", (data: Buffer, binary: boolean) => {
    if (binary) output.text += data.toString();
  });
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  ws.send(Buffer.from("echo ready-$((1+1))\n"));
  while (!output.text.includes("ready-2")) await new Promise((resolve) => setTimeout(resolve, 5));
  const samples = await echoes((data) => ws.send(Buffer.from(data)), output);
  ws.close();
  return samples;
}

async function bareEcho(): Promise<{ name: string; samples: number[] }> {
  const sshd = spawnSync("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "localhost", "true"], { stdio: "ignore" }).status === 0;
  const [file, args, name] = sshd ? ["ssh", ["-tt", "localhost"], "ssh localhost"] : ["/bin/bash", ["-l"], "a bare PTY (node-pty, bash -l) in this process"];
  const pty = spawnPty(file, args, { cols: 80, rows: 24, env: { ...process.env, TERM: "xterm-256color" } });
  const output = { text: "" };
  pty.onData((data) => (output.text += data));
  pty.write("echo ready-$((1+1))\n");
  while (!output.text.includes("ready-2")) await new Promise((resolve) => setTimeout(resolve, 5));
  const samples = await echoes((data) => pty.write(data), output);
  // Killing at once would leave node-pty writing the last keystroke to a closed PTY (EBADF).
  const exited = new Promise((resolve) => pty.onExit(resolve));
  pty.write("exit\n");
  await exited;
  return { name, samples };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ghostd-bench-tunnel-"));
  const home = join(dir, "home");
  const ghostd = spawnGhostd(home);
  const guest = spawn(process.execPath, [join(packageRoot, "dist", "bench", "tunnel-guest.js")], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const ports = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: guest.stdout as NodeJS.ReadableStream }).once("line", resolve))) as { sink: number; source: number };
    const socketPath = await hostApiSocket(home, ghostd);
    const tunnel = viaTunnel(socketPath);
    await throughput("upload (client to guest)", (open) => upload(open, ports.sink), tunnel);
    await throughput("download (guest to client)", (open) => download(open, ports.source), tunnel);
    const bare = await bareEcho();
    const ours = await shellEcho(socketPath);
    process.stdout.write(`keystroke echo round trip, ${KEYSTROKES} keystrokes (ms)\n`);
    process.stdout.write(`${line(`anchor: ${bare.name}`, bare.samples)}\n`);
    process.stdout.write(`${line("ghostd: WebSocket shell on the Host API socket", ours)}\n`);
    process.stdout.write(`    ratio ghostd/anchor p50 ${(percentile(ours, 50) / percentile(bare.samples, 50)).toFixed(2)}\n`);
    record({ measure: "shell keystroke echo, p50", anchor: bare.name, anchorValue: percentile(bare.samples, 50), ours: percentile(ours, 50), unit: "ms", ratio: percentile(ours, 50) / percentile(bare.samples, 50) });
  } finally {
    await stopAll([guest, ghostd]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:tunnel: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
