import assert from "node:assert/strict";
import type { ServicePlan } from "../../../server/supervisor/plan";
import { importCompose } from "../../../server/supervisor/compose";
import type { ServiceContext } from "../../../server/supervisor/runtime/driver";
import { engineAddress, engineCandidates } from "../../../server/supervisor/runtime/container/engine";
import { imageNeed, imagesOf } from "../../../server/supervisor/runtime/container/images";
import { canonicalJson, configDigest, containerEnv, containerSpec } from "../../../server/supervisor/runtime/container/spec";
import { after } from "../../../server/supervisor/runtime/container/task";
import { runsInContainer } from "../../../server/supervisor/runtime/selection";

function service(fields: Partial<ServicePlan> = {}): ServicePlan {
  return { name: "api", image: "localhost/app:1", entrypoint: [], command: [], environment: {}, ports: [], mounts: [], dependsOn: [], restart: { policy: "no" }, stopSignal: "SIGTERM", ...fields };
}

function context(plan: ServicePlan, egress = false, env: Record<string, string> = {}): ServiceContext {
  return {
    projectId: "p1",
    namespace: "ghostd-p1-abc",
    packagePath: "/pkg",
    service: plan,
    env,
    mounts: [
      { kind: "volume", hostPath: "/state/current/volumes/data", target: "/data", readOnly: false },
      { kind: "files", hostPath: "/state/current/files/conf", target: "/etc/app", readOnly: true },
      { kind: "tmpfs", hostPath: "", target: "/scratch", readOnly: false },
    ],
    network: {
      services: ["api", "db"],
      ports: [
        { hostPort: 41000, protocol: "tcp", service: "api", containerPort: 8000 },
        { hostPort: 41001, protocol: "udp", service: "api", containerPort: 53 },
        { hostPort: 41002, protocol: "tcp", service: "db", containerPort: 5432 },
      ],
      egress,
    },
  };
}

describe("container runtime: the container spec", () => {
  it("honours the plan's image, command, user, working_dir, labels, init, read_only and stop signal", () => {
    const plan = service({ entrypoint: ["/bin/sh", "-c"], command: ["run"], user: "1000:1000", workingDir: "/srv", labels: { "dev.role": "api" }, init: true, readOnly: true, stopSignal: "SIGINT", stopGraceMs: 2500 });
    const spec = containerSpec(context(plan), "localhost/app:1");
    assert.equal(spec.name, "ghostd-p1-abc-api");
    assert.deepEqual([spec.Image, spec.Entrypoint, spec.Cmd, spec.User, spec.WorkingDir, spec.StopSignal, spec.StopTimeout], ["localhost/app:1", ["/bin/sh", "-c"], ["run"], "1000:1000", "/srv", "SIGINT", 3]);
    assert.deepEqual(spec.Labels, { "dev.role": "api", "ghostd.project": "p1", "ghostd.namespace": "ghostd-p1-abc", "ghostd.service": "api", "ghostd.config": configDigest(context(plan), "localhost/app:1") });
    assert.equal(spec.HostConfig?.Init, true);
    assert.equal(spec.HostConfig.ReadonlyRootfs, true);
  });

  it("leaves the image's entrypoint and command alone when the plan gives none", () => {
    const spec = containerSpec(context(service()), "localhost/app:1");
    assert.equal("Entrypoint" in spec, false);
    assert.equal("Cmd" in spec, false);
    assert.equal("User" in spec, false);
  });

  it("grants nothing of the host: not privileged, no capabilities, the project network, no engine restarts", () => {
    const host = containerSpec(context(service()), "x").HostConfig;
    assert.deepEqual([host?.Privileged, host?.CapAdd, host?.NetworkMode, host?.RestartPolicy?.Name], [false, [], "ghostd-p1-abc", "no"]);
    assert.equal(host?.PidMode, undefined);
  });

  it("binds the project's state at the mounts' targets and makes tmpfs", () => {
    const host = containerSpec(context(service()), "x").HostConfig;
    assert.deepEqual(host?.Mounts, [
      { Type: "bind", Source: "/state/current/volumes/data", Target: "/data", ReadOnly: false },
      { Type: "bind", Source: "/state/current/files/conf", Target: "/etc/app", ReadOnly: true },
    ]);
    assert.deepEqual(host.Tmpfs, { "/scratch": "rw,nosuid,nodev" });
  });

  it("publishes its own ports on 127.0.0.1 only, and only when the network has a way out", () => {
    const open = containerSpec(context(service(), true), "x");
    assert.deepEqual(open.ExposedPorts, { "8000/tcp": {}, "53/udp": {} });
    assert.deepEqual(open.HostConfig?.PortBindings, { "8000/tcp": [{ HostIp: "127.0.0.1", HostPort: "41000" }], "53/udp": [{ HostIp: "127.0.0.1", HostPort: "41001" }] });
    assert.deepEqual(containerSpec(context(service(), false), "x").HostConfig?.PortBindings, {}, "an internal network: ghostd forwards instead");
  });

  it("is reached on the project network by its name and its compose aliases", () => {
    const spec = containerSpec(context(service({ aliases: ["backend", "v1.api"] })), "x");
    assert.deepEqual(spec.NetworkingConfig?.EndpointsConfig, { "ghostd-p1-abc": { Aliases: ["api", "backend", "v1.api"] } });
  });

  it("gives the container its own ports and every address, never the host's PATH", () => {
    const env = containerEnv(context(service({ environment: { LANG: "C.UTF-8", DB: "x" } }), false, { PATH: "/host/bin", LANG: "C.UTF-8", HOME: "/root", HOST: "127.0.0.1", PORT: "41000", GHOSTD_PORT_8000: "41000", GHOSTD_PORT_DB_5432: "41002", DB: "x" }));
    assert.deepEqual(env.sort(), ["DB=x", "GHOSTD_PORT_53=53", "GHOSTD_PORT_8000=8000", "GHOSTD_PORT_DB_5432=41002", "HOST=0.0.0.0", "LANG=C.UTF-8", "PORT=8000"]);
  });
});

describe("container runtime: taking over what an earlier daemon left", () => {
  it("labels a container with a digest of its whole spec, the same for the same context whatever the key order", () => {
    const plan = service({ command: ["run"], environment: { A: "1", B: "2" } });
    const spec = containerSpec(context(plan, false, { A: "1", B: "2" }), "localhost/app:1");
    assert.match(spec.Labels?.["ghostd.config"] ?? "", /^[0-9a-f]{64}$/);
    assert.equal(spec.Labels?.["ghostd.config"], configDigest(context(plan, false, { B: "2", A: "1" }), "localhost/app:1"));
    assert.equal(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null }), canonicalJson({ a: null, b: [1, { c: 2, d: 1 }] }));
  });

  it("gives another digest when anything of the container would differ: image, command, environment, ports, egress", () => {
    const plan = service({ command: ["run"] });
    const digest = configDigest(context(plan), "localhost/app:1");
    assert.notEqual(configDigest(context(plan), "localhost/app:2"), digest);
    assert.notEqual(configDigest(context(service({ command: ["run", "--fast"] })), "localhost/app:1"), digest);
    assert.notEqual(configDigest(context(plan, false, { SECRET: "new" }), "localhost/app:1"), digest);
    assert.notEqual(configDigest(context(plan, true), "localhost/app:1"), digest);
  });

  it("writes what the engine stamped after the log book's last line, unstamped, and nothing from before", () => {
    const written: string[] = [];
    const sink = after(new Date("2026-12-02T10:00:00.500Z"), (stream, chunk) => written.push(`${stream}:${chunk.toString()}`));
    sink("stdout", Buffer.from("2026-12-02T10:00:00.400000000Z old line\n2026-12-02T10:00:00.500000000Z same time\n2026-12-02T10:00:00.600000001Z new "));
    sink("stdout", Buffer.from("line\n"));
    sink("stderr", Buffer.from("2026-12-02T10:00:01.000000000+00:00 an error\n"));
    assert.deepEqual(written, ["stdout:new line\n", "stderr:an error\n"]);
  });
});

describe("container runtime: engines, images, placement", () => {
  it("looks for an engine where Docker's clients do: DOCKER_HOST, else Docker's socket, else Podman's", () => {
    assert.deepEqual(engineCandidates({ DOCKER_HOST: "tcp://127.0.0.1:2375" }), ["tcp://127.0.0.1:2375"]);
    assert.deepEqual(engineCandidates({ XDG_RUNTIME_DIR: "/run/user/1000" }), ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock", "unix:///run/user/1000/podman/podman.sock"]);
    assert.deepEqual(engineAddress("unix:///run/x.sock"), { socketPath: "/run/x.sock" });
    assert.deepEqual(engineAddress("tcp://10.0.0.1:2375"), { host: "10.0.0.1", port: 2375, protocol: "http" });
    assert.throws(() => engineAddress("ssh://me@host"), /not an engine address this daemon can use/);
  });

  it("pulls by pull_policy: missing pulls what is not there, always pulls, never needs it there", () => {
    assert.deepEqual([imageNeed(undefined, true), imageNeed(undefined, false), imageNeed("always", true), imageNeed("never", false), imageNeed("never", true)], ["none", "pull", "pull", "present", "none"]);
    const images = imagesOf([service({ name: "a", image: "x", pullPolicy: "never" }), service({ name: "b", image: "x", pullPolicy: "always" }), service({ name: "c", image: undefined, command: ["run"] })]);
    assert.deepEqual([...images], [["x", "always"]], "one image, once, at its strictest policy");
  });

  it("runs image services in containers and command-only services as processes", () => {
    assert.equal(runsInContainer(service({ image: "postgres:16" })), true);
    assert.equal(runsInContainer(service({ image: "python:3", command: ["python", "app.py"] })), true);
    assert.equal(runsInContainer(service({ image: undefined, command: ["node", "server.js"] })), false);
    assert.equal(runsInContainer(service({ image: undefined, build: true })), true, "the engine builds it");
    assert.equal(runsInContainer(service({ image: undefined, build: true, command: ["make", "run"] })), true, "its command runs in the image built");
  });

  it("keeps the compose fields a container honours in the plan", () => {
    const imported = importCompose(`services:
  api:
    image: app
    labels: [a=1, b]
    init: true
    read_only: "true"
    pull_policy: if_not_present
    networks:
      front: {aliases: [www]}
      back: {aliases: [backend, www]}
networks: {front: {}, back: {}}
`);
    assert.equal(imported.valid, true, imported.report.errors.join("\n"));
    const [api] = imported.services;
    assert.deepEqual([api?.labels, api?.init, api?.readOnly, api?.pullPolicy, api?.aliases], [{ a: "1", b: "" }, true, true, "missing", ["www", "backend"]]);
    const built = importCompose("services:\n  a:\n    build: ./svc\n  b:\n    build: {context: ., dockerfile: docker/Dockerfile.dev, args: [MODE=dev], target: dev}\n  c:\n    build: ../outside\n");
    assert.deepEqual(built.services.map((s) => s.imageBuild), [{ context: "svc", args: {} }, { context: ".", dockerfile: "docker/Dockerfile.dev", args: { MODE: "dev" }, target: "dev" }, undefined]);
    assert.deepEqual(built.report.errors, ["services.c.build.context: must be a relative path inside the package, without .."]);
    const bad = importCompose("services:\n  api:\n    image: app\n    labels: {ghostd.project: x}\n    pull_policy: sometimes\n    init: maybe\n");
    assert.deepEqual(bad.report.errors.sort(), [
      "services.api.init: must be true or false",
      'services.api.labels: ghostd.project: labels under ghostd. are ghostd\'s own',
      'services.api.pull_policy: must be missing, always, never or build, not "sometimes"',
    ]);
  });
});
