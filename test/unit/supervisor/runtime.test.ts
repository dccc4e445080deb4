import assert from "node:assert/strict";
import { join } from "node:path";
import { processStart, signalQuietly } from "../../../server/proc";
import { DomainError } from "../../../server/errors";
import type { ServicePlan } from "../../../server/supervisor/plan";
import type { ServiceContext } from "../../../server/supervisor/runtime/driver";
import { ProcessRuntime } from "../../../server/supervisor/runtime/process";
import { RuntimeRegistry } from "../../../server/supervisor/runtime/runtimes";
import { tempDir } from "../../helpers/tmp";

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

  it("prepare names every service the runtime cannot run, not only the first", async () => {
    const err = await runtime.prepare([...services, service("api", { build: true })]).then(
      () => assert.fail("prepare succeeded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DomainError, String(err));
    assert.equal(err.reason, "IMAGE_PULL_FAILED");
    assert.match(err.message, /^2 services cannot run on the process runtime: /);
    assert.match(err.message, /bare: the service has no command/);
    assert.match(err.message, /api: build: images are not built here/);
    assert.doesNotMatch(err.message, /ok:|tool:|db:/);
    assert.deepEqual(err.metadata, { services: "bare,api" });
  });

  it("an image service without a container runtime is a start failure (issue 12): prepare warns, StartProject's check names it", async () => {
    const told = new ProcessRuntime({ sandbox: "off", env: { PATH: process.env.PATH }, withoutContainers: "no container engine answers (unix:///var/run/docker.sock: no such socket)" });
    const prepared = await told.prepare([service("db", { image: "postgres:16" })]);
    assert.ok(prepared.warnings.some((w) => /^db: image postgres:16 needs a container runtime.*no container engine answers.*StartProject fails until then$/.test(w)), prepared.warnings.join("\n"));
    assert.throws(
      () => new RuntimeRegistry([told]).checkStartable([service("db", { image: "postgres:16" })]),
      (err: unknown) => err instanceof DomainError && err.reason === "START_FAILED" && /^db: image postgres:16 needs a container runtime.*give the service a command/.test(err.message),
    );
  });

  it("with --runtime auto and no engine, an image service with a command cannot start either: its image is what it needs", async () => {
    const why = "no container engine answers (unix:///var/run/docker.sock: no such socket)";
    const auto = new ProcessRuntime({ sandbox: "off", env: { PATH: process.env.PATH }, withoutContainers: why, imagesAsProcesses: false });
    const imaged = [service("web", { image: "localhost/app:1", command: ["sleep", "1"] }), service("built", { build: true, command: ["sleep", "1"] }), service("native", { command: ["sleep", "1"] })];
    const prepared = await auto.prepare(imaged);
    assert.ok(prepared.warnings.some((w) => /^web: image localhost\/app:1 needs a container engine .*no container engine answers.*--runtime process.*StartProject fails until then$/.test(w)), prepared.warnings.join("\n"));
    assert.ok(!prepared.warnings.some((w) => w.includes("is ignored by the process runtime")), prepared.warnings.join("\n"));
    assert.throws(
      () => new RuntimeRegistry([auto]).checkStartable(imaged),
      (err: unknown) => err instanceof DomainError && err.reason === "START_FAILED" && /^web: image localhost\/app:1 needs a container engine.*; built: its build needs a container engine/.test(err.message) && !err.message.includes("native"),
    );
    // --runtime process is the user's choice: the command runs, and the ignored image is told.
    const chosen = new ProcessRuntime({ sandbox: "off", env: { PATH: process.env.PATH }, withoutContainers: "ghostd runs with --runtime process", imagesAsProcesses: true });
    assert.deepEqual(chosen.problems(imaged), []);
    assert.ok((await chosen.prepare(imaged)).warnings.some((w) => w.startsWith("web: image localhost/app:1 is ignored by the process runtime")));
  });

  it("a missing program is a failure to start, never to pull: prepare warns, StartProject's check is START_FAILED", async () => {
    const startable = [service("ok", { command: ["sleep", "1"] }), service("tool", { command: ["no-such-program-ghostd"] })];
    const prepared = await runtime.prepare(startable);
    assert.ok(prepared.warnings.some((w) => /^tool: the executable "no-such-program-ghostd" does not exist on this machine.*StartProject fails until then$/.test(w)), prepared.warnings.join("\n"));
    const err = (() => {
      try {
        new RuntimeRegistry([runtime]).checkStartable(startable);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof DomainError, String(err));
    assert.deepEqual([err.reason, err.metadata], ["START_FAILED", { services: "tool" }]);
    assert.match(err.message, /^tool: the executable "no-such-program-ghostd" does not exist/);
    assert.deepEqual(runtime.problems(services).map((p) => [p.service, p.kind]), [["db", "engine"], ["tool", "executable"], ["bare", "runtime"]]);
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

  it("takes a command of flags alone for arguments to the image's entrypoint, not for a missing executable", () => {
    const [db] = runtime.problems([service("db", { image: "mysql:8", command: ["--default-authentication-plugin=mysql_native_password"] })]);
    assert.ok(db);
    assert.equal(db.kind, "engine");
    assert.match(db.problem, /^the command \(--default-authentication-plugin=mysql_native_password \.\.\.\) holds arguments for the entrypoint of image mysql:8, which needs a container runtime/);
    assert.doesNotMatch(db.problem, /executable/);
    const [bare] = runtime.problems([service("bare", { command: ["--verbose"] })]);
    assert.match(bare?.problem ?? "", /holds arguments for an entrypoint, and the service has none/);
    assert.deepEqual(runtime.problems([service("given", { image: "mysql:8", entrypoint: ["sleep"], command: ["1"] })]), [], "with an entrypoint, the command is its arguments");
  });

  it("prepare passes runnable services, warning of what it ignores", async () => {
    const prepared = await runtime.prepare([service("ok", { image: "busybox", command: ["sleep", "1"] })]);
    assert.deepEqual(prepared.imagesPulled, []);
    assert.ok(prepared.warnings.some((w) => w.startsWith("ok: image busybox is ignored")), prepared.warnings.join("\n"));
  });
});

describe("process runtime: tasks", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    dir.remove();
  });

  const options = () => ({ sandbox: "off" as const, env: { PATH: process.env.PATH }, taskDir: join(dir.path, "tasks") });
  const context = (name: string): ServiceContext => ({
    projectId: "p",
    namespace: "ghostd-p-12345678",
    packagePath: dir.path,
    service: service(name, { command: ["sleep", "1000"] }),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    mounts: [],
    network: { services: [name], ports: [], egress: false },
  });

  it("says a package directory that went away is why a service cannot start, not its program", async () => {
    const runtime = new ProcessRuntime(options());
    const gone = join(dir.path, "moved-away");
    const err = await runtime.start({ ...context("web"), packagePath: gone }, () => undefined).then(
      () => assert.fail("started"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DomainError, String(err));
    assert.equal(err.reason, "START_FAILED");
    assert.equal(err.message, `web: its working directory ${gone} does not exist (was the package moved or deleted?)`);
  });

  it("names a task by pid and start time, and lists it in its namespace until it is stopped", async () => {
    const runtime = new ProcessRuntime(options());
    const task = await runtime.start(context("web"), () => undefined);
    const pid = Number(runtime.displayId(task.handle));
    assert.equal(task.handle.id, `${pid}@${processStart(pid)}`);
    assert.deepEqual(await runtime.state(task.handle), { alive: true });
    assert.deepEqual(await runtime.list("ghostd-p-12345678"), [{ handle: task.handle, service: "web" }]);
    assert.deepEqual(await runtime.list("ghostd-other-12345678"), []);
    await runtime.stop(task.handle, { stopSignal: "SIGTERM", graceMs: 5000 });
    assert.deepEqual(await runtime.state(task.handle), { alive: false });
    assert.deepEqual(await runtime.list("ghostd-p-12345678"), []);
  });

  it("lists what an earlier daemon left, and removes it", async () => {
    const earlier = new ProcessRuntime(options());
    const task = await earlier.start(context("web"), () => undefined);
    const pid = Number(earlier.displayId(task.handle));
    try {
      // The next daemon: a runtime of its own over the same task records.
      const next = new ProcessRuntime(options());
      const [left] = await next.list("ghostd-p-12345678");
      assert.deepEqual(left, { handle: task.handle, service: "web" });
      assert.equal(await next.remove(task.handle), `process group ${pid}`);
      await task.exited;
      assert.deepEqual(await next.list("ghostd-p-12345678"), []);
      assert.equal(await next.remove(task.handle), undefined, "nothing left the second time");
    } finally {
      signalQuietly(-pid, "SIGKILL");
    }
  });

  it("execs a command beside a task, its stdout and stderr told apart to the output given, dropped without one", async () => {
    const runtime = new ProcessRuntime(options());
    const task = await runtime.start(context("db"), () => undefined);
    try {
      const output: string[] = [];
      const argv = ["sh", "-c", "printf 'dump of %s' \"$WHAT\"; echo warning >&2; exit 3"];
      const withEnv = { ...context("db"), env: { ...context("db").env, WHAT: "db" } };
      assert.equal(await runtime.exec(withEnv, argv, { timeoutMs: 5000, output: (stream, chunk) => output.push(`${stream}:${chunk.toString().trim()}`) }), 3);
      assert.deepEqual(output.sort(), ["stderr:warning", "stdout:dump of db"], "in the service's environment");
      assert.equal(await runtime.exec(context("db"), argv, { timeoutMs: 5000 }), 3);
    } finally {
      await runtime.stop(task.handle, { stopSignal: "SIGKILL", graceMs: 1000 });
    }
  });

  it("gives up a stop's grace when its signal aborts", async () => {
    const runtime = new ProcessRuntime(options());
    const task = await runtime.start({ ...context("stubborn"), service: service("stubborn", { command: ["sh", "-c", "trap '' TERM; sleep 1000"] }) }, () => undefined);
    const began = Date.now();
    await runtime.stop(task.handle, { stopSignal: "SIGTERM", graceMs: 30_000, signal: AbortSignal.timeout(50) });
    assert.ok(Date.now() - began < 5000, "killed without waiting out the grace");
  });
});
