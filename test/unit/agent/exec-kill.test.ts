import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execute, type ExecContext } from "../../../server/agent/exec";
import { cgroup2Mount, Cgroups } from "../../../server/cgroup";
import { DomainError } from "../../../server/errors";
import { processStart } from "../../../server/proc";
import { tempDir } from "../../helpers/tmp";
import { requireTools } from "../../helpers/tools";
import { waitFor } from "../../helpers/wait";

/**
 * A command that leaves behind a process in a session of its own, an orphan from the start (its
 * parent subshell exits at once), writing its pid to a file; `detach` decides what else it drops.
 */
function escapeeCommand(pidFile: string, detach: string): string {
  return `(${detach} setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' &); sleep 30`;
}

describe("exec at its deadline", function () {
  this.timeout(20_000);
  const dir = tempDir("ghostd-exec-kill-");
  const context: ExecContext = { home: dir.path, env: { PATH: "/usr/bin:/bin" }, outputLimit: 1024 };
  let pidFile: string;
  let n = 0;
  beforeEach(() => {
    pidFile = join(dir.path, `escapee-${n++}.pid`);
  });
  afterEach(() => {
    if (!existsSync(pidFile)) return;
    try {
      process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    } catch {
      // Killed by the exec, as it should be.
    }
  });
  after(() => dir.remove());

  /** Runs `script` with a one-second timeout: it must fail with exec_timeout within a bound, and the escapee be gone. */
  const escapeePid = (): Promise<number> =>
    waitFor(`a pid in ${pidFile}`, () => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) || undefined : undefined), 1000);
  const gone = (pid: number) => waitFor(`the escapee ${pid} to be gone`, () => processStart(pid) === 0, 1000);

  async function expectKilled(script: string, execContext: ExecContext): Promise<void> {
    const started = Date.now();
    await assert.rejects(
      execute({ command: "/bin/sh", args: ["-c", script], timeoutSeconds: 1, cwd: undefined, env: {}, stdin: undefined }, execContext, {}, new AbortController().signal),
      (err: unknown) => err instanceof DomainError && err.reason === "exec_timeout",
    );
    const ms = Date.now() - started;
    assert.ok(ms < 2000, `exec_timeout came after ${ms} ms for a 1 s timeout`);
    await gone(await escapeePid());
  }

  it("finds through /proc an orphan in its own session by the marker in its environment", async () => {
    await expectKilled(escapeeCommand(pidFile, "</dev/null >/dev/null 2>&1"), context);
  });

  it("finds through /proc an orphan in its own session, without the marker, by the output it holds", async () => {
    await expectKilled(escapeeCommand(pidFile, "env -u GHOSTD_EXEC_ID"), context);
  });

  it("kills the escapees of a cancelled command too", async () => {
    const cancel = new AbortController();
    const running = execute(
      { command: "/bin/sh", args: ["-c", escapeeCommand(pidFile, "</dev/null >/dev/null 2>&1")], timeoutSeconds: 10, cwd: undefined, env: {}, stdin: undefined },
      context,
      {},
      cancel.signal,
    );
    const pid = await escapeePid();
    cancel.abort();
    assert.equal((await running).exitCode, 128 + 9);
    await gone(pid);
  });

  describe("with a cgroup per command", () => {
    const cgroups = Cgroups.find();
    before(function () {
      // Where there is none (cgroup v1 only, or not ours to write) the /proc tests above still run.
      requireTools(this, [{ what: "a writable cgroup v2 hierarchy with cgroup.kill", present: cgroups !== undefined, provider: "a cgroup2 mount, which .ci/run makes as root at /sys/fs/cgroup/unified" }]);
    });

    it("kills one that no /proc tie finds: no marker, no output held, no parent, its own session", async () => {
      await expectKilled(escapeeCommand(pidFile, "env -u GHOSTD_EXEC_ID </dev/null >/dev/null 2>&1"), { ...context, cgroups });
    });

    it("leaves what a command started in the background running, outside the command's cgroup, when it ends on its own", async () => {
      const started = await execute(
        { command: "/bin/sh", args: ["-c", `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' </dev/null >/dev/null 2>&1 &`], timeoutSeconds: 5, cwd: undefined, env: {}, stdin: undefined },
        { ...context, cgroups },
        {},
        new AbortController().signal,
      );
      assert.equal(started.exitCode, 0);
      const pid = await escapeePid();
      assert.notEqual(processStart(pid), 0, "the daemon still runs");
      const cgroupOf = (p: number | "self") => /^0::(.*)$/m.exec(readFileSync(`/proc/${p}/cgroup`, "utf8"))?.[1];
      assert.equal(cgroupOf(pid), cgroupOf("self"), "it moved out to the cgroup of the process that ran the command");
    });
  });

  it("finds the cgroup v2 mount in mountinfo, unified or hybrid", () => {
    const line = (id: number, root: string, mount: string, type: string) => `${id} 1 0:${id} ${root} ${mount} rw,relatime shared:${id} - ${type} ${type} rw`;
    const unified = [line(30, "/", "/sys/fs/cgroup", "cgroup2"), line(31, "/", "/proc", "proc")].join("\n");
    const hybrid = [line(40, "/", "/sys/fs/cgroup", "tmpfs"), line(41, "/", "/sys/fs/cgroup/memory", "cgroup"), line(42, "/", "/sys/fs/cgroup/unified", "cgroup2")].join("\n");
    const bound = [line(50, "/system.slice", "/mnt/cg", "cgroup2"), line(51, "/", "/mnt/with\\040space", "cgroup2")].join("\n");
    assert.equal(cgroup2Mount(unified), "/sys/fs/cgroup");
    assert.equal(cgroup2Mount(hybrid), "/sys/fs/cgroup/unified");
    assert.equal(cgroup2Mount(bound), "/mnt/with space", "a mount of a subtree does not map /proc/self/cgroup paths");
    assert.equal(cgroup2Mount(line(60, "/", "/sys/fs/cgroup/memory", "cgroup")), undefined);
  });
});
