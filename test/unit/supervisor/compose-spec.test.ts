import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../../cli/package-info";
import { importCompose, type ComposeContext, type ComposeImport } from "../../../server/supervisor/compose";
import { interpolateCompose } from "../../../server/supervisor/compose-interpolation";
import { DomainError } from "../../../server/errors";
import { interpolate } from "../../../server/supervisor/interpolate";
import { loadPlan } from "../../../server/supervisor/plan-loader";
import { checkRequiredVariables } from "../../../server/supervisor/service-context";
import { composeManifest } from "../../helpers/supervisor";
import { tempDir } from "../../helpers/tmp";

const FIXTURES = join(packageRoot, "test", "fixtures", "compose");
const read = (name: string): string => readFileSync(join(FIXTURES, `${name}.yaml`), "utf8");
const withVariables = (variables: Record<string, string>): ComposeContext => ({ variables: (name) => variables[name] });
const service = (result: ComposeImport, name: string) => {
  const found = result.services.find((s) => s.name === name);
  assert.ok(found, `service ${name} in ${result.services.map((s) => s.name).join(", ")}: ${result.report.errors.join("; ")}`);
  return found;
};

describe("compose files as the Compose specification writes them", () => {
  describe("values are interpolated before they are read", () => {
    it('reads "${WEB_PORT:-8080}:80", ${DATA_DIR:-./data}:/data and published: "${TLS_PORT:-8443}" with their defaults', () => {
      const result = importCompose(read("interpolated-fields"));
      assert.deepEqual(result.report.errors, []);
      const web = service(result, "web");
      assert.deepEqual(web.ports, [
        { containerPort: 80, protocol: "tcp", exposure: "auto", hostPort: 8080 },
        { containerPort: 443, protocol: "tcp", exposure: "auto", hostPort: 8443 },
      ]);
      assert.deepEqual(web.mounts, [{ kind: "files", source: "data", target: "/data", readOnly: false }]);
    });

    it("reads them with the project's variables when it has some", () => {
      const web = service(importCompose(read("interpolated-fields"), withVariables({ WEB_PORT: "9090", TLS_PORT: "9443", DATA_DIR: "./state", WHO: "ghost" })), "web");
      assert.deepEqual(web.ports.map((p) => p.hostPort), [9090, 9443]);
      assert.equal(web.mounts[0]?.source, "state");
      assert.equal(web.environment.GREETING, "hello ghost");
    });

    it("keeps a service's environment references it cannot resolve now for the start, when ports and secrets are known", () => {
      const web = service(importCompose(read("interpolated-fields")), "web");
      assert.equal(web.environment.GREETING, "hello ${WHO:-world}");
      assert.equal(interpolate(web.environment.API_URL ?? "", { GHOSTD_PORT_API_8000: "41000" }), "http://127.0.0.1:41000");
      // A value from the project's variables is taken literally at the start: its $ is no reference.
      const escaped = service(importCompose(read("interpolated-fields"), withVariables({ WHO: "$HOME" })), "web");
      assert.equal(interpolate(escaped.environment.GREETING ?? "", { HOME: "/root" }), "hello $HOME");
    });

    it("refuses ${VAR:?message} while VAR is unset, naming the variable, the message and the field", () => {
      const refused = importCompose(read("required-variable"));
      assert.equal(refused.valid, false);
      assert.deepEqual(refused.report.errors, ["services.db.image: PG_VERSION is required: set PG_VERSION to the Postgres version"]);
      const given = importCompose(read("required-variable"), withVariables({ PG_VERSION: "16" }));
      assert.equal(given.valid, true, given.report.errors.join("; "));
      assert.equal(service(given, "db").image, "postgres:16");
    });

    it("reads the spec's interpolation examples: defaults, nested defaults, $$ and keys left alone", () => {
      const result = importCompose(read("spec-interpolation"));
      const foo = service(result, "foo");
      assert.equal(foo.image, "example/webapp:latest");
      assert.equal(foo.workingDir, "/default");
      assert.equal(service(importCompose(read("spec-interpolation"), withVariables({ FOO: "/srv" })), "foo").workingDir, "/srv");
      assert.deepEqual(foo.command.map((word) => interpolate(word, { VAR_NOT_INTERPOLATED_BY_COMPOSE: "no" })), ["$VAR_NOT_INTERPOLATED_BY_COMPOSE"]);
      const { document } = interpolateCompose({ services: { foo: { labels: { $KEY: "$VALUE" } } } }, (name) => name.toLowerCase());
      assert.deepEqual(document, { services: { foo: { labels: { $KEY: "value" } } } });
    });

    it("blames the variable, not the field, when a required one is unset", () => {
      const result = importCompose('services:\n  web:\n    command: [run]\n    ports: ["${WEB_PORT:?set WEB_PORT}:80"]\n    volumes: ["${DATA:?set DATA}:/data"]\n');
      assert.deepEqual(result.report.errors, ["services.web.ports[0]: WEB_PORT is required: set WEB_PORT", "services.web.volumes[0]: DATA is required: set DATA"]);
      assert.deepEqual(result.report.services[0]?.reasons, result.report.errors);
    });

    it("reports a reference it cannot read as an error of its field, not a crash", () => {
      const result = importCompose('services:\n  a:\n    image: "x:${TAG/1/2}"\n    command: [run]\n');
      assert.equal(result.valid, false);
      assert.match(result.report.errors.join("\n"), /^services\.a\.image: "\$\{TAG\/1\/2\}" is not a variable reference/m);
    });
  });

  describe("ports, as the spec's grammar writes them", () => {
    const result = importCompose(read("spec-ports"));
    const web = service(result, "web");
    const secured = service(result, "secured");

    it("reads a host range for one container port as any free port of that range", () => {
      assert.ok(web.ports.some((p) => p.containerPort === 80 && p.hostRange?.from === 8000 && p.hostRange.to === 9000 && p.hostPort === undefined));
      assert.deepEqual(secured.ports, [
        { containerPort: 80, protocol: "tcp", exposure: "auto", hostPort: 8080 },
        { containerPort: 443, protocol: "tcp", exposure: "auto", hostRange: { from: 8083, to: 9000 } },
      ]);
    });

    it("reads IPv6 host addresses, bare and in brackets, and says they are bound to 127.0.0.1", () => {
      assert.ok(web.ports.some((p) => p.containerPort === 6000 && p.hostPort === 6000));
      assert.ok(web.ports.some((p) => p.containerPort === 6001 && p.hostPort === 6001));
      const reasons = result.report.transformed.filter((f) => f.path.startsWith("services.web.ports[")).map((f) => f.reason);
      assert.deepEqual(reasons, ["bound to 127.0.0.1, not ::1: host ports are local to this machine", "bound to 127.0.0.1, not ::1: host ports are local to this machine"]);
    });

    it("maps ranges port for port, and reads udp", () => {
      assert.deepEqual(web.ports.filter((p) => p.containerPort >= 8080 && p.containerPort <= 8081).map((p) => [p.hostPort, p.containerPort]), [[9090, 8080], [9091, 8081]]);
      assert.equal(web.ports.filter((p) => p.containerPort >= 5000 && p.containerPort <= 5010 && p.hostPort === p.containerPort).length, 11);
      assert.equal(web.ports.filter((p) => p.containerPort >= 3000 && p.containerPort <= 3005 && p.hostPort === undefined).length, 7);
      assert.ok(web.ports.some((p) => p.containerPort === 6060 && p.protocol === "udp"));
    });

    it("says what is wrong with a mapping it cannot take", () => {
      const bad = importCompose('services:\n  a:\n    command: [x]\n    ports: ["8080-8081:80-82", "80/sctp", {target: 80, published: "x"}]\n');
      assert.deepEqual(bad.report.errors, [
        'services.a.ports[0]: "8080-8081:80-82" maps 2 host ports onto 3 container ports; ranges must be as wide',
        'services.a.ports[1]: "80/sctp": protocol sctp is not supported; use tcp or udp',
        'services.a.ports[2]: {"target":80,"published":"x"}: published must be a port or a range like 8000-8005',
      ]);
    });
  });

  describe("cross-checks a field-by-field reading misses", () => {
    const result = importCompose(read("cross-checks"));
    const reasonOf = (path: string): string | undefined => [...result.report.rejected, ...result.report.transformed, ...result.report.supported].find((f) => f.path === path)?.reason;

    it("warns when a service reads /run/secrets while compose secrets are refused", () => {
      const about = result.report.warnings.filter((w) => w.includes("/run/secrets/"));
      assert.deepEqual(about.map((w) => w.split(":")[0]), ["services.db.environment", "services.db.healthcheck"]);
      const without = importCompose("services:\n  db:\n    command: [run]\n    environment: {PASSWORD_FILE: /run/secrets/pw}\n");
      assert.ok(!without.report.warnings.some((w) => w.includes("/run/secrets/")), "no secrets in the file: nothing was refused");
    });

    it("reports static addresses under a service's network instead of dropping them", () => {
      assert.match(reasonOf("services.db.networks.back.ipv4_address") ?? "", /static addresses are not kept/);
      assert.match(reasonOf("services.db.networks.back.ipv6_address") ?? "", /static addresses are not kept/);
      assert.equal(reasonOf("services.db.networks.back.aliases"), undefined, "aliases are kept, not rejected");
    });

    it("calls deploy.resources unapplied resource limits, not a Swarm setting, and placement Swarm's", () => {
      assert.match(reasonOf("services.db.deploy.resources") ?? "", /limits and reservations .* not applied/);
      assert.doesNotMatch(reasonOf("services.db.deploy.resources") ?? "", /swarm/i);
      assert.match(reasonOf("services.db.deploy.placement") ?? "", /Swarm/);
    });

    it("accepts the bridge driver, the default, and names the options it drops", () => {
      assert.equal(reasonOf("networks.back"), undefined);
      const custom = importCompose(read("top-level-networks"));
      assert.deepEqual(custom.report.rejected.map((f) => [f.path, f.reason.split(":")[0]]), [["networks.front", "ipam"]]);
    });

    it("accepts version with exactly one warning, and does not list it as supported", () => {
      assert.equal(reasonOf("version"), undefined, "neither supported nor anything else: obsolete");
      assert.deepEqual(result.report.warnings.filter((w) => w.includes("version")), ["version: obsolete in the Compose specification; ignored"]);
    });

    it("calls ~/data a path in the home directory, not an absolute path", () => {
      const home = importCompose(read("home-path"));
      const said = [...home.report.errors, ...home.report.rejected.map((f) => f.reason)].join("\n");
      assert.match(said, /~\/data.*home directory/);
      assert.doesNotMatch(said, /absolute/);
    });
  });

  describe("the spec's examples for volumes, depends_on, healthcheck and environment", () => {
    it("reads the short syntax's access modes, relative paths and an anonymous volume", () => {
      const app = service(importCompose(read("volumes-short")), "app");
      assert.deepEqual(app.mounts, [
        { kind: "volume", source: "db-data", target: "/var/lib/data", readOnly: true },
        { kind: "files", source: "static", target: "/srv/static", readOnly: false },
        { kind: "files", source: "shared", target: "/srv/shared", readOnly: false },
        { kind: "volume", source: "app-anonymous-1", target: "/var/cache/app", readOnly: false },
      ]);
    });

    it("reads depends_on's long form: conditions kept, restart accepted", () => {
      const result = importCompose(read("spec-depends-on"));
      assert.deepEqual(service(result, "web").dependsOn, [
        { service: "db", condition: "service_healthy", required: true },
        { service: "redis", condition: "service_started", required: true },
      ]);
      assert.deepEqual(service(importCompose(read("spec-depends-on-short")), "web").dependsOn.map((d) => d.service), ["db", "redis"]);
    });

    it("reads the healthcheck examples: CMD, CMD-SHELL, a line, and disable", () => {
      const result = importCompose(read("spec-healthcheck"));
      assert.deepEqual(service(result, "full").healthcheck, { test: ["curl", "-f", "http://localhost"], intervalMs: 90_000, timeoutMs: 10_000, retries: 3, startPeriodMs: 40_000 });
      assert.deepEqual(service(result, "shell").healthcheck?.test, ["/bin/sh", "-c", "curl -f http://localhost || exit 1"]);
      assert.deepEqual(service(result, "line").healthcheck?.test, ["/bin/sh", "-c", "curl -f https://localhost || exit 1"]);
      assert.equal(service(result, "disabled").healthcheck, undefined);
    });

    it("reads numbers and booleans that interpolation made strings, as Compose casts them", () => {
      const result = importCompose('services:\n  a:\n    command: [run]\n    healthcheck: {test: [CMD, "true"], retries: "${RETRIES:-5}"}\n    depends_on: {b: {required: "${NEEDED:-false}"}}\n  b:\n    command: [run]\n');
      assert.deepEqual(result.report.errors, []);
      assert.equal(service(result, "a").healthcheck?.retries, 5);
      assert.equal(service(result, "a").dependsOn[0]?.required, false);
    });

    it("reads env_file format raw: values as written, quotes and $ included", () => {
      const files: Record<string, string> = { "raw.env": "QUOTED='a $b'\n" };
      const result = importCompose("services:\n  a:\n    command: [env]\n    env_file: [{path: raw.env, format: raw}]\n", { readPackageFile: (path) => files[path] });
      assert.equal(interpolate(service(result, "a").environment.QUOTED ?? "", { b: "no" }), "'a $b'");
    });

    it("reads environment as a map and as a list alike, a bare name left to the start", () => {
      const result = importCompose(read("spec-environment"));
      const expected = { RACK_ENV: "development", SHOW: "true", USER_INPUT: "${USER_INPUT}" };
      assert.deepEqual(service(result, "map").environment, expected);
      assert.deepEqual(service(result, "array").environment, expected);
    });
  });

  it("says for each service whether the file lets it run, and why not", () => {
    const result = importCompose("services:\n  ok:\n    command: [run]\n  broken:\n    command: [run]\n    ports: [\"not-a-port\"]\n");
    assert.deepEqual(
      result.report.services.map((s) => [s.name, s.runnable, s.reasons]),
      [
        ["ok", true, []],
        ["broken", false, ['services.broken.ports[0]: "not-a-port" is not a port mapping like 80, 8080:80, 8000-8005:80-85, 127.0.0.1:8080:80, [::1]:8080:80 or 8080:80/udp (ports 1-65535)']],
      ],
    );
  });
});

describe("a package's .env", () => {
  it("gives the variables its compose file is interpolated with, and a broken one is INVALID_MANIFEST", () => {
    const pkg = tempDir();
    try {
      const manifest = composeManifest("dev.test.dotenv");
      writeFileSync(join(pkg.path, "compose.yaml"), 'services:\n  web:\n    command: [sleep, "1000"]\n    ports: ["${WEB_PORT:-8080}:80"]\n');
      writeFileSync(join(pkg.path, ".env"), "# the port the page is on\nWEB_PORT=9191\n");
      assert.deepEqual(loadPlan(manifest, pkg.path).plan.services[0]?.ports.map((p) => p.hostPort), [9191]);
      writeFileSync(join(pkg.path, ".env"), "WEB_PORT=${BASE:?BASE must be set}\n");
      assert.throws(() => loadPlan(manifest, pkg.path), (err: unknown) => err instanceof DomainError && err.reason === "INVALID_MANIFEST" && err.message === ".env: BASE is required: BASE must be set");
    } finally {
      pkg.remove();
    }
  });

  it("is not the daemon's environment: a package cannot read the daemon's variables", () => {
    const pkg = tempDir();
    process.env.GHOSTD_TEST_DAEMON_ONLY = "daemon-secret";
    try {
      writeFileSync(join(pkg.path, "compose.yaml"), 'services:\n  web:\n    image: "registry.example/${GHOSTD_TEST_DAEMON_ONLY}"\n    command: [sleep, "1000"]\n');
      assert.equal(loadPlan(composeManifest("dev.test.env"), pkg.path).plan.services[0]?.image, "registry.example/");
    } finally {
      delete process.env.GHOSTD_TEST_DAEMON_ONLY;
      pkg.remove();
    }
  });
});

describe("variables a compose file requires of the start", () => {
  const plan = service(importCompose('services:\n  db:\n    command: [run, "--port=${GHOSTD_PORT_DB_5432:?}"]\n    environment:\n      PASSWORD: "${DB_PASSWORD:?pass DB_PASSWORD as a secret}"\n'), "db");

  it("fails StartProject with MISSING_SECRET, naming the variable and the file's message, before anything starts", () => {
    assert.throws(
      () => checkRequiredVariables([plan], {}),
      (err: unknown) => err instanceof DomainError && err.reason === "MISSING_SECRET" && err.message === "db: DB_PASSWORD is required: pass DB_PASSWORD as a secret",
    );
  });

  it("passes once the secrets give it; ghostd's own variables need no secret", () => {
    assert.doesNotThrow(() => checkRequiredVariables([plan], { DB_PASSWORD: "s3cret" }));
  });
});
