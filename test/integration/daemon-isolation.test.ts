import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  EnsureProjectRequest,
  GetProjectStatusRequest,
  OpenProjectRequest,
  ProjectStatus,
  StartProjectRequest,
  type GetProjectStatusResponse,
  type StartProjectResponse,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import { runGhostd, spawnDaemon } from "../helpers/daemon";
import { HostApi } from "../helpers/host-api";
import { alive, composeManifest, supervisorClient, tailLogs, unary, writePackage } from "../helpers/supervisor";
import { TerminalApi } from "../helpers/terminal-api";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

/** A compose package of one long-running service that prints its PATH first. */
function sleeperPackage(dir: string, id: string): string {
  return writePackage(dir, {
    "vibe.yaml": composeManifest(`dev.test.${id}`),
    "compose.yaml": "services:\n  app:\n    command: [sh, -c, 'echo \"PATH=$$PATH\"; exec sleep 1000']\n",
  });
}

async function startProject(grpc: string, projectId: string, packagePath: string): Promise<StartProjectResponse> {
  const api = supervisorClient(grpc);
  try {
    await unary((cb) => api.ensureProject(EnsureProjectRequest.fromPartial({ projectId, appId: `dev.test.${projectId}`, packagePath }), cb));
    await unary((cb) => api.openProject(OpenProjectRequest.fromPartial({ projectId }), cb));
    return await unary<StartProjectResponse>((cb) => api.startProject(StartProjectRequest.fromPartial({ projectId }), cb));
  } finally {
    api.close();
  }
}

describe("one daemon per home", function () {
  this.timeout(60_000);

  it("refuses a second daemon on the same home before it touches anything, naming the first one's pid", async () => {
    const work = tempDir();
    const home = join(work.path, "home");
    const first = await spawnDaemon({ home, args: ["--port-range", "46450-46474", "--log-level", "warn"] });
    try {
      const started = await startProject(first.endpoints.grpc ?? "", "keep", sleeperPackage(join(work.path, "pkg"), "keep"));
      const pid = Number(started.services[0]?.containerId);
      assert.ok(alive(pid), "the service runs");

      const second = await runGhostd(["serve", "--home", home, "--http", "127.0.0.1:0", "--port-range", "46450-46474"]);
      assert.equal(second.code, 1, second.output);
      assert.match(second.output, new RegExp(`another ghostd \\(pid ${first.child.pid}\\) is running on ${home}`));

      assert.ok(alive(pid), "the first daemon's service was left alone");
      assert.ok(existsSync(join(home, "run", "endpoints.json")), "the first daemon's endpoints file is still there");
      const api = supervisorClient(first.endpoints.grpc ?? "");
      try {
        const status = await unary<GetProjectStatusResponse>((cb) => api.getProjectStatus(GetProjectStatusRequest.fromPartial({ projectId: "keep" }), cb));
        assert.equal(status.status, ProjectStatus.PROJECT_STATUS_RUNNING);
        assert.equal(Number(status.services[0]?.containerId), pid, "the registry still records the first daemon's service");
      } finally {
        api.close();
      }
    } finally {
      assert.equal(await first.stop(), 0, first.output());
      work.remove();
    }
  });

  it("takes the home over once the daemon that had it was killed", async () => {
    const work = tempDir();
    const first = await spawnDaemon({ home: work.path, args: ["--log-level", "warn"] });
    await first.stop("SIGKILL");
    const second = await spawnDaemon({ home: work.path, args: ["--log-level", "warn"] });
    assert.equal(await second.stop(), 0, second.output());
    work.remove();
  });
});

describe("under npm start, what the daemon runs gets the user's environment, not npm's", function () {
  this.timeout(60_000);
  const npmVariable = (line: string): boolean => /^(npm_|INIT_CWD=)/i.test(line);
  const npmPathEntry = (entry: string): boolean => entry.endsWith("/node_modules/.bin") || entry.includes("node-gyp-bin");

  it("exec'd commands, terminal shells and project services", async () => {
    const work = tempDir();
    const daemon = await spawnDaemon({ viaNpm: true, home: join(work.path, "home"), args: ["--port-range", "46475-46499", "--log-level", "warn"], env: { SHELL: "/bin/bash" } });
    try {
      const exec = await new HostApi(daemon.endpoints.host_api.local ?? "").exec({ command: "env" });
      assert.equal(exec.status, 200, exec.text);
      const lines = exec.json<{ stdout: string }>().stdout.split("\n");
      assert.deepEqual(lines.filter(npmVariable), [], "exec sees no npm variables");
      const path = lines.find((l) => l.startsWith("PATH="))?.slice(5) ?? "";
      assert.ok(path.length > 0, "exec sees a PATH");
      assert.deepEqual(path.split(":").filter(npmPathEntry), [], `exec's PATH has no npm entries: ${path}`);

      const terminals = new TerminalApi(daemon.endpoints.http ?? "");
      const terminal = await terminals.create();
      // A login shell may set PATH anew from /etc/profile: what counts is that npm's entries are not in it.
      await terminals.input(terminal.id, `echo "NPM_VARS=$(env | grep -c -i -e '^npm_' -e '^INIT_CWD=') NPM_PATH=$(echo "$PATH" | tr : '\\n' | grep -c -e 'node_modules/[.]bin$' -e node-gyp-bin)"`);
      const seen = await terminals.ok<{ match: string }>("POST", `/terminals/${terminal.id}/wait`, { match: "NPM_VARS=\\d+ NPM_PATH=\\d+" });
      assert.equal(seen.match, "NPM_VARS=0 NPM_PATH=0", "the shell has no npm variables and no npm PATH entries");

      await startProject(daemon.endpoints.grpc ?? "", "envcheck", sleeperPackage(join(work.path, "pkg"), "envcheck"));
      const api = supervisorClient(daemon.endpoints.grpc ?? "");
      try {
        const line = await waitFor("the service's PATH line", async () => (await tailLogs(api, { projectId: "envcheck", serviceName: "app" })).find((e) => e.line.startsWith("PATH="))?.line);
        assert.deepEqual(line.slice(5).split(":").filter(npmPathEntry), [], `the service's PATH has no npm entries: ${line}`);
      } finally {
        api.close();
      }
    } finally {
      await daemon.stop();
      work.remove();
    }
  });
});
