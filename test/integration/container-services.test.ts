import assert from "node:assert/strict";
import { join } from "node:path";
import { ProjectStatus, ServiceState } from "../../generated/ghostd/supervisor/v1/supervisor";
import { existsSync, readFileSync } from "node:fs";
import { SnapshotRepository } from "../../server/supervisor/snapshots/repository";
import { containerDaemon } from "../helpers/container-daemon";
import { containersOf } from "../helpers/engine";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../helpers/images";
import { composeManifest, tailLogs, writePackage } from "../helpers/supervisor";
import { waitFor } from "../helpers/wait";

/** A compose file from its lines. */
const lines = (...text: string[]): string => `${text.join("\n")}\n`;

/**
 * What a compose file asks of a container, checked from inside the running container through
 * the supervisor (the unit tests check the create spec; these check the engine honoured it).
 */
describe("container runtime: compose fields, restarts, stop and secrets in real containers", function () {
  this.timeout(180_000);
  const env = containerDaemon({ portRange: "46500-46599", images: [ensureBusyboxImage] });
  const call = env.calls;

  async function project(name: string, compose: string, files: Record<string, string> = {}, manifest = ""): Promise<string> {
    const projectId = env.track(`csvc-${process.pid}-${name}`);
    const path = writePackage(join(env.work.path, name), { "vibe.yaml": composeManifest(`dev.test.${name}`, [], manifest), "compose.yaml": compose, ...files });
    await call.ensure({ projectId, appId: `dev.test.${name}`, packagePath: path, statePath: join(env.work.path, `${name}-state`) });
    await call.open(projectId);
    return projectId;
  }

  const linesOf = async (projectId: string, service: string): Promise<string[]> => (await tailLogs(env.client, { projectId, serviceName: service, tailLines: 1000 })).map((e) => e.line);

  it("honours user, working_dir, entrypoint, command, env_file, environment, labels, tmpfs, init and read_only; masks secrets in its output", async () => {
    const report = [
      "echo uid=$$(id -u) gid=$$(id -g) pwd=$$(pwd) from_file=$$FROM_FILE plain=$$PLAIN token=$$TOKEN",
      "echo pid1=$$(cat /proc/1/comm)",
      "touch /rootfs-write 2>/dev/null && echo rootfs=writable || echo rootfs=readonly",
      "touch /scratch/x && echo tmpfs=writable",
      "exec sleep 600",
    ].join("; ");
    const compose = lines(
      "services:",
      "  fields:",
      `    image: ${BUSYBOX_IMAGE}`,
      '    user: "1234:1234"',
      "    working_dir: /srv",
      '    entrypoint: ["sh", "-c"]',
      `    command: [${JSON.stringify(report)}]`,
      "    env_file: [app.env]",
      "    environment: {PLAIN: from-compose}",
      "    labels: {dev.test.kind: fields}",
      "    tmpfs: [/scratch]",
      "    init: true",
      "    read_only: true",
      "    stop_signal: SIGKILL",
    );
    const id = await project("fields", compose, { "app.env": "FROM_FILE=from-env-file\n" }, "secrets:\n  - {name: TOKEN, required: true}\n");
    await call.start(id, { TOKEN: "s3cr3t-value-ghostd" });
    const out = await waitFor("the report", async () => {
      const got = await linesOf(id, "fields");
      return got.some((l) => l.startsWith("tmpfs=")) && got;
    });
    assert.ok(out.includes("uid=1234 gid=1234 pwd=/srv from_file=from-env-file plain=from-compose token=***"), out.join("\n"));
    assert.ok(!out.some((l) => l.includes("s3cr3t-value-ghostd")), "the secret never reaches the log book");
    assert.ok(out.includes("rootfs=readonly"), out.join("\n"));
    assert.ok(out.includes("tmpfs=writable"), out.join("\n"));
    const pid1 = out.find((l) => l.startsWith("pid1="));
    assert.ok(pid1 !== undefined && pid1 !== "pid1=sh" && pid1 !== "pid1=sleep", `an init runs as PID 1, not the command (${pid1 ?? "none"})`);
    const container = (await containersOf(env.docker, id)).get("fields");
    assert.equal(container?.Labels["dev.test.kind"], "fields");
    await call.remove(id, true);
  });

  it("restarts a crashing container by its policy, counting restarts, and tells the project degraded once it gives up", async () => {
    const compose = lines(
      "services:",
      "  steady:",
      `    image: ${BUSYBOX_IMAGE}`,
      '    command: ["sleep", "600"]',
      "    stop_signal: SIGKILL",
      "  crasher:",
      `    image: ${BUSYBOX_IMAGE}`,
      '    command: ["sh", "-c", "echo crashing; sleep 1; exit 3"]',
      "    restart: on-failure:2",
    );
    const id = await project("restarts", compose);
    await call.start(id);
    const settled = await waitFor("the crasher to give up", async () => {
      const status = await call.status(id);
      return status.status === ProjectStatus.PROJECT_STATUS_DEGRADED && status;
    }, 30_000);
    const crasher = settled.services.find((s) => s.name === "crasher");
    assert.ok(crasher);
    assert.deepEqual([crasher.status, crasher.restartCount], [ServiceState.SERVICE_STATE_FAILED, 2]);
    assert.equal((await linesOf(id, "crasher")).filter((l) => l === "crashing").length, 3, "the first run and two restarts");
    assert.ok(!(await containersOf(env.docker, id)).has("crasher"), "an exited container is removed");
    assert.equal(settled.services.find((s) => s.name === "steady")?.status, ServiceState.SERVICE_STATE_RUNNING);
    await call.remove(id, true);
  });

  it("stops with the service's stop_signal, and kills after its stop_grace_period one that ignores it", async () => {
    const compose = lines(
      "services:",
      "  polite:",
      `    image: ${BUSYBOX_IMAGE}`,
      "    command: [\"sh\", \"-c\", \"trap 'echo got USR1; exit 0' USR1; echo ready; while true; do sleep 0.2; done\"]",
      "    init: true",
      "    stop_signal: SIGUSR1",
      "    stop_grace_period: 30s",
      "  stubborn:",
      `    image: ${BUSYBOX_IMAGE}`,
      "    command: [\"sh\", \"-c\", \"trap '' TERM; echo ready; while true; do sleep 0.2; done\"]",
      "    init: true",
      "    stop_grace_period: 2s",
    );
    const id = await project("stopping", compose);
    await call.start(id);
    await waitFor("both to be ready", async () => (await linesOf(id, "polite")).includes("ready") && (await linesOf(id, "stubborn")).includes("ready"));
    const began = Date.now();
    await call.stopProject({ projectId: id });
    const took = Date.now() - began;
    assert.ok(took >= 2000, `the stubborn service had its 2 s of grace (${took} ms)`);
    assert.ok(took < 20_000, `the polite one ended on its signal, not its 30 s grace (${took} ms)`);
    assert.ok((await linesOf(id, "polite")).includes("got USR1"), "the stop signal was SIGUSR1");
    assert.equal((await containersOf(env.docker, id)).size, 0);
    await call.remove(id, true);
  });

  it("pauses a container that writes a generic volume while a snapshot reads it, and resumes it; a restore starts it again on the restored state", async () => {
    const compose = lines(
      "services:",
      "  writer:",
      `    image: ${BUSYBOX_IMAGE}`,
      '    command: ["sh", "-c", "while true; do date +%s%N >> /data/ticks; sleep 0.05; done"]',
      "    volumes: [data:/data]",
      "    stop_signal: SIGKILL",
      "volumes:",
      "  data: {}",
    );
    const projectId = env.track(`csvc-${process.pid}-snap`);
    const path = writePackage(join(env.work.path, "snap"), { "vibe.yaml": composeManifest("dev.test.snap", ["data"]), "compose.yaml": compose });
    const state = join(env.work.path, "snap-state");
    await call.ensure({ projectId, appId: "dev.test.snap", packagePath: path, statePath: state });
    await call.open(projectId);
    const started = await call.start(projectId);
    const ticks = join(state, "current", "volumes", "data", "ticks");
    await waitFor("the container writes its volume", () => existsSync(ticks) && readFileSync(ticks, "utf8").length > 100);
    const saved = await call.saveSnapshot({ projectId });
    const document = await new SnapshotRepository(join(state, "snapshots")).readDocument(saved.snapshotId);
    assert.deepEqual(document.volumes.map((v) => [v.name, v.paused]), [["data", ["writer"]]]);
    const id = started.services[0]?.containerId ?? "";
    assert.equal((await env.docker.getContainer(id).inspect()).State.Status, "running", "resumed after the save");
    const size = readFileSync(ticks, "utf8").length;
    await waitFor("it writes again", () => readFileSync(ticks, "utf8").length > size);

    const restored = await call.restoreSnapshot({ projectId, snapshotId: saved.snapshotId, createSafetySnapshot: false });
    const [writer] = restored.services;
    assert.ok(writer);
    assert.equal(writer.status, ServiceState.SERVICE_STATE_RUNNING);
    assert.notEqual(writer.containerId, id, "a new container, on the restored volume");
    await waitFor("the new container writes the restored volume", () => readFileSync(ticks, "utf8").length > 0);
    await call.stop(projectId);
    await call.remove(projectId, true);
  });
});
