import assert from "node:assert/strict";
import type { ServicePlan } from "../../server/supervisor/plan";
import { ContainerRuntime } from "../../server/supervisor/runtime/container/driver";
import { engineCandidates, findEngine } from "../../server/supervisor/runtime/container/engine";
import type { ServiceContext } from "../../server/supervisor/runtime/driver";
import { removeLabelled, requireEngine } from "../helpers/engine";
import { ensureBusyboxImage } from "../helpers/images";
import type Docker from "dockerode";
import { waitFor } from "../helpers/wait";

const NAMESPACE = `ghostd-driver-test-${process.pid}`;
const HOST_PORT = 46590;

function context(command: string[], egress = true): ServiceContext {
  const service: ServicePlan = { name: "box", image: "localhost/busybox:latest", entrypoint: [], command, environment: {}, ports: [], mounts: [], dependsOn: [], restart: { policy: "no" }, stopSignal: "SIGTERM" };
  return { projectId: `driver-test-${process.pid}`, namespace: NAMESPACE, packagePath: "/", service, env: {}, mounts: [], network: { services: ["box"], ports: [{ hostPort: HOST_PORT, protocol: "tcp", service: "box", containerPort: 8080 }], egress } };
}

describe("container runtime driver (a real engine)", function () {
  this.timeout(60_000);
  let runtime: ContainerRuntime;
  let docker: Docker;

  before(async function () {
    docker = await requireEngine(this);
    await ensureBusyboxImage(docker);
    runtime = new ContainerRuntime(await findEngine(engineCandidates(process.env)));
  });

  after(async () => {
    if (runtime as ContainerRuntime | undefined) await removeLabelled(docker, `ghostd.namespace=${NAMESPACE}`);
  });

  for (const egress of [true, false]) {
    it(`starts, execs, pauses, resumes, lists, holds its port and stops a container (egress ${egress})`, async () => {
      const ctx = context(["sh", "-c", "echo to-out; echo to-err >&2; exec httpd -f -p 8080 -h /"], egress);
      const output: string[] = [];
      const task = await runtime.start(ctx, (stream, chunk) => output.push(`${stream}:${chunk.toString().trim()}`));
      await waitFor("both streams, told apart", () => output.includes("stdout:to-out") && output.includes("stderr:to-err"));
      assert.equal(runtime.displayId(task.handle), task.handle.id);
      assert.deepEqual((await runtime.list(NAMESPACE)).map((t) => [t.handle.id, t.service]), [[task.handle.id, "box"]]);
      assert.equal(await runtime.exec(ctx, ["sh", "-c", "exit 3"], { timeoutMs: 5000 }), 3);
      const execOutput: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
      const bytes = ["sh", "-c", "head -c 300000 /dev/zero; echo exec-err >&2"];
      assert.equal(await runtime.exec(ctx, bytes, { timeoutMs: 5000, output: (stream, chunk) => (execOutput[stream] += chunk.toString("latin1")) }), 0);
      assert.equal(execOutput.stdout, "\0".repeat(300_000), "stdout whole, the engine's stream headers taken off");
      assert.equal(execOutput.stderr, "exec-err\n");
      assert.equal(await runtime.exec(ctx, ["sleep", "5"], { timeoutMs: 200 }), 128, "an exec that outlives its timeout counts as killed");
      assert.equal(await runtime.holdsPort(task.handle, HOST_PORT, "tcp"), true);
      assert.equal(await runtime.holdsPort(task.handle, HOST_PORT + 1, "tcp"), false);
      await runtime.pause(task.handle);
      const paused = await docker.getContainer(task.handle.id).inspect();
      assert.equal(paused.State.Paused, true);
      await runtime.resume(task.handle);
      assert.deepEqual(await runtime.state(task.handle), { alive: true });
      // httpd as PID 1 ignores SIGTERM: the kill after the grace ends it.
      await runtime.stop(task.handle, { stopSignal: "SIGTERM", graceMs: 500 });
      assert.deepEqual(await runtime.state(task.handle), { alive: false });
      assert.deepEqual(await runtime.list(NAMESPACE), []);
      assert.equal(await runtime.remove(task.handle), undefined, "nothing left to remove");
    });
  }

  it("resolves `exited` with the container's exit code, and removes what `remove` finds", async () => {
    const task = await runtime.start(context(["sh", "-c", "exit 7"]), () => undefined);
    assert.deepEqual(await task.exited, { code: 7, signal: null });
    const lingering = await runtime.start(context(["sleep", "600"]), () => undefined);
    assert.match((await runtime.remove(lingering.handle)) ?? "", /^container [0-9a-f]{12}$/);
    assert.deepEqual(await runtime.removeNamespace(NAMESPACE), [`network ${NAMESPACE}`]);
  });
});
