import { spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

// Two ways to see whether a daemon ran the `docker` or `podman` binaries, which it must never do
// (docs/containers.md): wrappers of those names first in its PATH, which record each call and
// then run the real program (a call by name, from the daemon or any child, is caught and still
// works); and strace attached to it for a while, which sees every execve, by name or by path.

const WATCHED = ["docker", "podman"] as const;

/** Where `name` would be found in `path`, as a shell looks it up; undefined when it is nowhere. */
export function lookUp(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter).filter((d) => d !== "")) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      continue;
    }
  }
  return undefined;
}

/** A directory of recording wrappers; `path` is the PATH to give the daemon, `calls()` what they saw. */
export function recordingPath(dir: string, path: string): { path: string; calls(): string[] } {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const log = join(dir, "cli-calls.log");
  writeFileSync(log, "");
  for (const name of WATCHED) {
    const real = lookUp(name, path);
    const run = real === undefined ? "exit 127" : `exec '${real}' "$@"`;
    writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\n' "$0 $*" >> '${log}'\n${run}\n`, { mode: 0o755 });
  }
  return { path: `${bin}${delimiter}${path}`, calls: () => readFileSync(log, "utf8").split("\n").filter((l) => l !== "") };
}

/**
 * strace attached to a process and its threads (and any child they start) until `stop`, which
 * detaches it and returns every execve seen. Undefined when strace is not installed.
 */
export async function traceExecs(pid: number, out: string): Promise<{ stop(): Promise<string[]> } | undefined> {
  if (lookUp("strace", process.env.PATH ?? "") === undefined) return undefined;
  const strace = spawn("strace", ["-f", "-e", "trace=execve,execveat", "-e", "signal=none", "-o", out, "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
  let said = "";
  const exited = new Promise<void>((resolve) => strace.once("exit", () => resolve()));
  // strace says `Process <pid> attached` (with its threads) once every thread is traced.
  await new Promise<void>((resolve, reject) => {
    strace.stderr.on("data", (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes(`Process ${pid} attached`)) resolve();
    });
    void exited.then(() => reject(new Error(`strace could not attach to ${pid}: ${said.trim()}`)));
  });
  return {
    async stop() {
      strace.kill("SIGINT");
      await exited;
      return readFileSync(out, "utf8")
        .split("\n")
        .filter((l) => /\bexecve(at)?\(/.test(l));
    },
  };
}
