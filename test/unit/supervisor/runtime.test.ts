import assert from "node:assert/strict";
import { DomainError } from "../../../server/errors";
import type { ServicePlan } from "../../../server/supervisor/plan";
import { ProcessRuntime } from "../../../server/supervisor/runtime/process";

function service(name: string, fields: Partial<ServicePlan> = {}): ServicePlan {
  return { name, entrypoint: [], command: [], environment: {}, ports: [], mounts: [], dependsOn: [], restart: { policy: "no" }, stopSignal: "SIGTERM", ...fields };
}

describe("process runtime: can each service run here", () => {
  const runtime = new ProcessRuntime({ sandbox: "off", env: { PATH: process.env.PATH } });
  const services = [
    service("db", { image: "postgres:16" }),
    service("ok", { command: ["sleep", "1"] }),
    service("tool", { command: ["no-such-program-ghostd"] }),
    service("bare"),
  ];

  it("prepare names every service that cannot run, not only the first", async () => {
    const err = await runtime.prepare(services).then(
      () => assert.fail("prepare succeeded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DomainError, String(err));
    assert.equal(err.reason, "IMAGE_PULL_FAILED");
    assert.match(err.message, /^3 services cannot run on the process runtime: /);
    assert.match(err.message, /db: image postgres:16 needs a container runtime/);
    assert.match(err.message, /tool: the executable "no-such-program-ghostd" does not exist on this machine/);
    assert.match(err.message, /bare: the service has no command/);
    assert.doesNotMatch(err.message, /ok:/);
    assert.deepEqual(err.metadata, { services: "db,tool,bare" });
  });

  it("problems names each service that cannot run, why, and what to do", () => {
    assert.deepEqual(runtime.problems(services).map((p) => p.service), ["db", "tool", "bare"]);
    const [built] = runtime.problems([service("api", { build: true })]);
    assert.match(built?.problem ?? "", /^build: images are not built here; give the service a command/);
    const [imaged] = runtime.problems([service("db", { image: "postgres:16", build: true })]);
    assert.match(imaged?.problem ?? "", /^image postgres:16 needs a container runtime/, "an image a container runtime could pull is what to say");
    // Programs relative to the package, or named by a variable, are found when the service starts.
    assert.deepEqual(runtime.problems([service("rel", { command: ["./run.sh"] }), service("var", { entrypoint: ["${TOOL}"] })]), []);
  });

  it("prepare passes runnable services, warning of what it ignores", async () => {
    const prepared = await runtime.prepare([service("ok", { image: "busybox", command: ["sleep", "1"] })]);
    assert.deepEqual(prepared.imagesPulled, []);
    assert.ok(prepared.warnings.some((w) => w.startsWith("ok: image busybox is ignored")), prepared.warnings.join("\n"));
  });
});
