import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../../cli/package-info";
import { importCompose, splitWords, type ComposeImport } from "../../../server/supervisor/compose";
import { MAX_DOCUMENT_BYTES } from "../../../server/supervisor/documents";

const FIXTURES = join(packageRoot, "test", "fixtures", "compose");
const read = (name: string): string => readFileSync(join(FIXTURES, `${name}.yaml`), "utf8");
const paths = (fields: readonly { path: string }[]): string[] => fields.map((f) => f.path);
const service = (result: ComposeImport, name: string) => {
  const found = result.services.find((s) => s.name === name);
  assert.ok(found, `service ${name} in ${result.services.map((s) => s.name).join(", ")}`);
  return found;
};

/** What each fixture must give: valid or not, and what the report must name. */
const EXPECTED: Record<string, { valid: boolean; services?: string[]; rejected?: string[]; transformed?: string[]; supported?: string[]; errors?: RegExp[]; warnings?: RegExp[] }> = {
  wordpress: { valid: true, services: ["db", "wordpress"], transformed: ["services.db.expose", "services.wordpress.depends_on"], supported: ["services.db.volumes[0]", "services.wordpress.ports", "volumes"] },
  django: {
    valid: true,
    services: ["db", "redis", "web"],
    transformed: ["services.web.build", "services.web.depends_on", "services.web.volumes[0]"],
    supported: ["services.web.env_file", "services.db.healthcheck"],
    warnings: [/version: obsolete/, /env_file: \.env is read from the package/],
  },
  "node-mongo-build": { valid: true, services: ["mongo", "api"], transformed: ["services.api.build"] },
  "nginx-proxy": {
    valid: true,
    services: ["app", "proxy"],
    transformed: ["networks", "services.proxy.logging", "services.proxy.volumes[0]", "services.proxy.volumes[1]", "services.app.expose", "services.app.networks"],
  },
  anchors: { valid: true, services: ["worker-a", "worker-b"] },
  healthchecks: { valid: true, services: ["a", "b", "c", "d"], supported: ["services.a.healthcheck", "services.d.healthcheck"] },
  "ports-forms": { valid: true, services: ["web"], warnings: [] },
  "completed-successfully": { valid: true, services: ["migrate", "app"], supported: ["services.app.stop_signal", "services.app.stop_grace_period", "services.app.user", "services.app.labels", "services.app.working_dir"] },
  "env-forms": { valid: true, services: ["a"] },
  rejected: {
    valid: true,
    services: ["risky"],
    rejected: [
      "secrets",
      "configs",
      "services.risky.privileged",
      "services.risky.cap_add",
      "services.risky.pid",
      "services.risky.network_mode",
      "services.risky.devices",
      "services.risky.sysctls",
      "services.risky.security_opt",
      "services.risky.deploy.replicas",
      "services.risky.profiles",
      "services.risky.secrets",
      "services.risky.configs",
      "services.risky.extends",
      "services.risky.shm_size",
    ],
    warnings: [/network_mode: host is not granted/],
  },
  "top-level-networks": { valid: true, services: ["a"], rejected: ["networks.front"], transformed: ["networks", "services.a.networks"] },
  hostpath: { valid: false, rejected: ["services.leak.volumes[0]"], errors: [/services\.leak\.volumes\[0\]: "\/etc" is an absolute host path, outside the package/] },
  "escape-package": { valid: false, errors: [/"\.\.\/\.\.\/outside" leaves the package/] },
  cycle: { valid: false, errors: [/depends_on: a cycle: a -> b -> c -> a/] },
  "unknown-dependency": { valid: false, errors: [/services\.a\.depends_on: no service "ghost"/] },
  "bad-port": { valid: false, errors: [/"99999:80" is not a port mapping/, /"not-a-port" is not a port mapping/] },
  "wrong-types": {
    valid: false,
    errors: [
      /services\.a\.image: must be a string/,
      /services\.a\.command: must be a string or a list/,
      /services\.a\.environment: must be a mapping or a list/,
      /services\.a\.ports: must be a list/,
      /services\.a\.healthcheck\.test: must be/,
      /services\.a\.restart: must be no, always/,
      /services\.b: must be a mapping/,
    ],
  },
  "spec-ports": { valid: true, services: ["web", "secured"], transformed: ["services.web.ports[8]", "services.web.ports[9]"], warnings: [/ports\[8\]: "::1:6000:6000" is bound to 127\.0\.0\.1, not ::1/, /ports\[9\]: "\[::1\]:6001:6001" is bound to 127\.0\.0\.1, not ::1/] },
  "spec-volumes": {
    valid: false,
    rejected: ["services.backend.volumes[0].volume.subpath", "services.backend.volumes[1]"],
    supported: ["services.backend.volumes[0]"],
    errors: [/services\.backend\.volumes\[1\]: "\/var\/run\/postgres\/postgres\.sock" is an absolute host path/],
  },
  "volumes-short": { valid: true, services: ["app"], supported: ["services.app.volumes[0]"], transformed: ["services.app.volumes[1]", "services.app.volumes[2]", "services.app.volumes[3]"], warnings: [] },
  "home-path": { valid: false, rejected: ["services.app.volumes[0]"], errors: [/"~\/data" is a path in the user's home directory, outside the package/] },
  "spec-interpolation": { valid: true, services: ["foo", "bar"], warnings: [/services\.bar\.labels\[0\]: the variable VAR_INTERPOLATED_BY_COMPOSE is not set/] },
  "interpolated-fields": { valid: true, services: ["web"], transformed: ["services.web.volumes[0]"], warnings: [] },
  "required-variable": { valid: false, errors: [/^services\.db\.image: PG_VERSION is required: set PG_VERSION to the Postgres version$/] },
  "spec-depends-on": { valid: true, services: ["db", "redis", "web"], transformed: ["services.web.depends_on"] },
  "spec-depends-on-short": { valid: true, services: ["db", "redis", "web"], transformed: ["services.web.depends_on"] },
  "spec-healthcheck": { valid: true, services: ["full", "shell", "line", "disabled"], supported: ["services.full.healthcheck", "services.disabled.healthcheck"], warnings: [] },
  "spec-environment": { valid: true, services: ["map", "array"], warnings: [] },
  "cross-checks": {
    valid: true,
    services: ["db"],
    rejected: [
      "secrets",
      "services.db.secrets",
      "services.db.deploy.resources",
      "services.db.deploy.placement",
      "services.db.networks.back.ipv4_address",
      "services.db.networks.back.ipv6_address",
    ],
    transformed: ["networks", "services.db.networks"],
  },
  "anchor-bomb": { valid: false, errors: [/alias/i] },
  "not-yaml": { valid: false, errors: [/not valid YAML: .* at line 4, column 1/] },
  "duplicate-keys": { valid: false, errors: [/Map keys must be unique at line 4/] },
  "no-services": { valid: false, errors: [/must define at least one service/] },
  "empty-services": { valid: false, errors: [/must define at least one service/] },
};

describe("compose import", () => {
  it("has an expectation for every fixture, and more than twenty of them", () => {
    const fixtures = readdirSync(FIXTURES).map((f) => f.replace(/\.yaml$/, "")).sort();
    assert.deepEqual(fixtures, Object.keys(EXPECTED).sort());
    assert.ok(fixtures.length >= 20);
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`reports ${name}.yaml as ${expected.valid ? "valid" : "invalid"}`, () => {
      const result = importCompose(read(name));
      const { report } = result;
      assert.equal(result.valid, expected.valid, report.errors.join("\n"));
      if (expected.valid) assert.deepEqual(report.errors, []);
      else assert.ok(report.errors.length > 0);
      if (expected.services) assert.deepEqual(result.services.map((s) => s.name), expected.services, "services in start order");
      for (const path of expected.rejected ?? []) assert.ok(paths(report.rejected).includes(path), `${path} rejected: ${paths(report.rejected).join(", ")}`);
      if (expected.rejected) assert.equal(report.rejected.length, expected.rejected.length, paths(report.rejected).join(", "));
      for (const path of expected.transformed ?? []) assert.ok(paths(report.transformed).includes(path), `${path} transformed: ${paths(report.transformed).join(", ")}`);
      for (const path of expected.supported ?? []) assert.ok(paths(report.supported).includes(path), `${path} supported: ${paths(report.supported).join(", ")}`);
      for (const pattern of expected.errors ?? []) assert.ok(report.errors.some((e) => pattern.test(e)), `${String(pattern)} in ${report.errors.join("\n")}`);
      for (const pattern of expected.warnings ?? []) assert.ok(report.warnings.some((w) => pattern.test(w)), `${String(pattern)} in ${report.warnings.join("\n")}`);
      if (expected.warnings?.length === 0) assert.deepEqual(report.warnings, []);
      // Every entry names its field and says why.
      for (const field of [...report.supported, ...report.transformed, ...report.rejected]) {
        assert.ok(field.reason.length > 0, field.path);
        if (field.path.startsWith("services.")) assert.equal(field.service, field.path.split(".")[1]?.replace(/\[.*$/, ""));
      }
    });
  }

  it("keeps the fields of each service as a plan", () => {
    const wordpress = importCompose(read("wordpress"));
    const db = service(wordpress, "db");
    assert.deepEqual(db.command, ["--default-authentication-plugin=mysql_native_password"]);
    assert.deepEqual(db.environment, { MYSQL_ROOT_PASSWORD: "somewordpress", MYSQL_DATABASE: "wordpress" });
    assert.deepEqual(db.mounts, [{ kind: "volume", source: "db_data", target: "/var/lib/mysql", readOnly: false }]);
    assert.deepEqual(db.ports, [{ containerPort: 3306, protocol: "tcp", exposure: "none" }]);
    assert.deepEqual(db.restart, { policy: "always" });
    assert.deepEqual(service(wordpress, "wordpress").dependsOn, [{ service: "db", condition: "service_started", required: true }]);
    assert.deepEqual(wordpress.volumes, ["db_data"]);

    const django = importCompose(read("django"));
    assert.deepEqual(service(django, "db").healthcheck, { test: ["/bin/sh", "-c", "pg_isready -U postgres"], intervalMs: 5000, timeoutMs: 5000, retries: 5, startPeriodMs: 0 });
    assert.deepEqual(service(django, "web").command, ["python", "manage.py", "runserver", "0.0.0.0:8000"]);
    assert.deepEqual(service(django, "web").mounts, [{ kind: "files", source: "src", target: "/code", readOnly: false }]);
    assert.deepEqual(service(django, "web").dependsOn.map((d) => d.condition), ["service_healthy", "service_started"]);
    // Whether a service to be built can run is the runtime's call: the plan says that it is one.
    assert.equal(service(django, "web").build, true);
    assert.equal(service(django, "db").build, undefined);
  });

  it("normalises every short and long form of ports", () => {
    const web = service(importCompose(read("ports-forms")), "web");
    assert.deepEqual(web.ports, [
      { containerPort: 3000, protocol: "tcp", exposure: "auto" },
      { containerPort: 4001, protocol: "tcp", exposure: "auto", hostPort: 3001 },
      { containerPort: 4002, protocol: "tcp", exposure: "auto", hostPort: 3002 },
      { containerPort: 5000, protocol: "udp", exposure: "auto", hostPort: 5000 },
      { containerPort: 6000, protocol: "tcp", exposure: "auto" },
      { containerPort: 7000, protocol: "tcp", exposure: "auto" },
    ]);
  });

  it("reads environment maps, lists, merge keys and names taken from secrets", () => {
    const a = service(importCompose(read("env-forms")), "a");
    assert.deepEqual(a.environment, { PLAIN: "value", NUMBER: "3", FLAG: "true", FROM_SECRET: "${FROM_SECRET}", PORT_REF: "http://127.0.0.1:${GHOSTD_PORT_A_80:-8080}" });
    const anchors = importCompose(read("anchors"));
    assert.deepEqual(service(anchors, "worker-b").environment, { TZ: "UTC", ROLE: "b" });
    assert.deepEqual(service(anchors, "worker-a").restart, { policy: "unless-stopped" });
    assert.deepEqual(service(anchors, "worker-b").command, ["sleep", "1000"]);
  });

  it("reads env_file from the package when there is one", () => {
    const compose = "services:\n  a:\n    command: [env]\n    env_file: [.env, {path: ./missing.env, required: false}]\n    environment: {B: override}\n";
    const files: Record<string, string> = { ".env": "# comment\nexport A=1\nB='quoted'\nC=\"x y\"\n\n" };
    const result = importCompose(compose, { readPackageFile: (path) => files[path] });
    assert.equal(result.valid, true, result.report.errors.join("; "));
    assert.deepEqual(service(result, "a").environment, { A: "1", B: "override", C: "x y" });
    const missing = importCompose("services:\n  a:\n    command: [env]\n    env_file: .env\n", { readPackageFile: () => undefined });
    assert.match(missing.report.errors.join(), /env_file: \.env does not exist in the package/);
    const escape = importCompose("services:\n  a:\n    command: [env]\n    env_file: ../../etc/passwd\n", { readPackageFile: () => "X=1" });
    assert.match(escape.report.errors.join(), /env_file\[0\]: must be a relative path inside the package/);
  });

  it("reads healthchecks as Compose does: CMD, CMD-SHELL, a shell line, NONE and disable", () => {
    const result = importCompose(read("healthchecks"));
    assert.deepEqual(service(result, "a").healthcheck, { test: ["/bin/sh", "-c", "curl -f http://localhost/"], intervalMs: 90_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 40_000 });
    assert.equal(service(result, "b").healthcheck, undefined);
    assert.equal(service(result, "c").healthcheck, undefined);
    assert.deepEqual(service(result, "d").healthcheck?.test, ["wget", "-q", "--spider", "http://localhost"]);
    assert.equal(service(result, "d").healthcheck?.retries, 2);
  });

  it("keeps stop signals, grace periods and the completed-successfully condition", () => {
    const result = importCompose(read("completed-successfully"));
    const app = service(result, "app");
    assert.equal(app.stopSignal, "SIGINT");
    assert.equal(app.stopGraceMs, 60_000);
    assert.equal(app.workingDir, "/srv");
    assert.deepEqual(app.dependsOn, [{ service: "migrate", condition: "service_completed_successfully", required: true }]);
  });

  it("refuses documents that are too big, not mappings, or hostile, without throwing", () => {
    const big = `services:\n  a:\n    command: [x]\n    labels:\n${"      k: v\n".repeat(MAX_DOCUMENT_BYTES / 10)}`;
    assert.match(importCompose(big).report.errors.join(), /larger than/);
    for (const text of ["", "- a\n- b\n", "42", "null", "services: [a, b]", "services:\n  a: ~\n", "\u0000\u0001binary", "{".repeat(10_000)]) {
      const result = importCompose(text);
      assert.equal(result.valid, false, JSON.stringify(text.slice(0, 20)));
      assert.ok(result.report.errors.length > 0);
    }
  });

  it("turns names it cannot take into errors, not crashes", () => {
    const result = importCompose('services:\n  "bad name!":\n    command: [x]\n  __proto__:\n    command: [x]\n  ok:\n    command: [x]\n    environment: {"BAD-NAME=": x}\n');
    assert.equal(result.valid, false);
    assert.match(result.report.errors.join("\n"), /"bad name!" is not a service name/);
    assert.match(result.report.errors.join("\n"), /"BAD-NAME=" is not an environment variable name/);
  });

  it("takes keys named like Object's own properties as unknown fields, not as Object's", () => {
    const top = importCompose("constructor: {}\ntoString: 1\nservices:\n  a: {command: [x]}\n");
    assert.equal(top.valid, true);
    assert.deepEqual(top.report.rejected.map((f) => f.path), ["constructor", "toString"]);
    const field = importCompose("services:\n  a: {command: [x], toString: 1, hasOwnProperty: 2}\n");
    assert.deepEqual(field.report.rejected.map((f) => [f.path, f.reason]), [
      ["services.a.toString", "not part of the Compose subset; ignored"],
      ["services.a.hasOwnProperty", "not part of the Compose subset; ignored"],
    ]);
    assert.ok(!field.report.supported.some((f) => f.path === "services.a.toString"));
  });

  it("splits command lines as a shell would, without expanding", () => {
    assert.deepEqual(splitWords(`sh -c 'echo "$HOME"' "a b" c\\ d ""`), ["sh", "-c", 'echo "$HOME"', "a b", "c d", ""]);
    assert.deepEqual(splitWords("  spaced   out  "), ["spaced", "out"]);
    assert.equal(splitWords("unbalanced 'quote"), undefined);
    assert.match(importCompose("services:\n  a:\n    command: \"echo 'x\"\n").report.errors.join(), /unbalanced quotes/);
  });
});
