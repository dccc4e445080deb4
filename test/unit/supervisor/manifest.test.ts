import assert from "node:assert/strict";
import { parseDuration, parseYaml } from "../../../server/supervisor/documents";
import { interpolate } from "../../../server/supervisor/interpolate";
import { parseManifest, type Manifest } from "../../../server/supervisor/manifest";
import { startOrder, type ServicePlan } from "../../../server/supervisor/plan";

const NATIVE = `
kind: vibe.app/v1
id: com.example.notes
name: Notes
version: 1.2.0-beta.1
runtime: {mode: native}
services:
  - name: db
    command: [sqlite-server]
    mounts: [{source: "state:data", target: /data}]
    healthcheck: {test: [CMD, "true"], interval: 2s}
  - name: api
    command: [node, server.js]
    env: {LEVEL: info, RETRIES: 3}
    ports: [{container: 8080}, {container: 9090, hostExposure: none}]
    stateVolumes: ["cache:/var/cache/api"]
    dependsOn: [db]
    restart: on-failure:5
state:
  autosave: true
  volumes: [{name: data, consistency: sqlite}, {name: cache}]
security: {network: true}
secrets: [{name: API_TOKEN, required: true}, {name: OPTIONAL}]
publisher:
  name: Example
  signing: {scheme: ed25519, signatureFile: sig/package.sig, publicKeyFile: sig/key.pub}
`;

function manifestOf(text: string): Manifest {
  const parsed = parseManifest(parseYaml(text, "the manifest"));
  if ("problems" in parsed) assert.fail(parsed.problems.join("; "));
  return parsed.manifest;
}

function problemsOf(text: string): string[] {
  const parsed = parseManifest(parseYaml(text, "the manifest"));
  assert.ok("problems" in parsed, "the manifest should be refused");
  return parsed.problems;
}

describe("manifest vibe.yaml", () => {
  it("reads a native manifest with its defaults", () => {
    const manifest = manifestOf(NATIVE);
    assert.equal(manifest.id, "com.example.notes");
    assert.equal(manifest.version, "1.2.0-beta.1");
    assert.deepEqual(manifest.runtime, { mode: "native" });
    assert.deepEqual(manifest.state, { autosave: true, autosaveDebounceSeconds: 30, maxSnapshots: 100, volumes: [{ name: "data", consistency: "sqlite" }, { name: "cache", consistency: "generic" }] });
    assert.deepEqual(manifest.security, { network: true, allowHostFileImport: false });
    assert.deepEqual(manifest.secrets, [{ name: "API_TOKEN", required: true }, { name: "OPTIONAL", required: false }]);
    assert.deepEqual(manifest.publisher, { name: "Example", signing: { scheme: "ed25519", signatureFile: "sig/package.sig", publicKeyFile: "sig/key.pub" } });
    const [db, api] = manifest.services;
    assert.deepEqual(db?.mounts, [{ kind: "volume", source: "data", target: "/data", readOnly: false }]);
    assert.deepEqual(db.healthcheck, { test: ["true"], intervalMs: 2000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 });
    assert.deepEqual(api?.environment, { LEVEL: "info", RETRIES: "3" });
    assert.deepEqual(api.ports, [{ containerPort: 8080, protocol: "tcp", exposure: "auto" }, { containerPort: 9090, protocol: "tcp", exposure: "none" }]);
    assert.deepEqual(api.mounts, [{ kind: "volume", source: "cache", target: "/var/cache/api", readOnly: false }]);
    assert.deepEqual(api.dependsOn, [{ service: "db", condition: "service_started", required: true }]);
    assert.deepEqual(api.restart, { policy: "on-failure", maxRetries: 5 });
  });

  it("reads a compose manifest, with or without its compose file named", () => {
    assert.deepEqual(manifestOf("kind: vibe.app/v1\nid: a.b\nname: A\nversion: 0.1.0\nruntime: {mode: compose, composeFile: deploy/compose.yml}\n").runtime, { mode: "compose", composeFile: "deploy/compose.yml" });
    assert.deepEqual(manifestOf("kind: vibe.app/v1\nid: a.b\nname: A\nversion: 0.1.0\nruntime: {mode: compose}\n").services, []);
  });

  it("lists every problem, not just the first", () => {
    const problems = problemsOf(`
kind: vibe.app/v2
id: not-reverse-domain
name: ""
version: "1.0"
icon: ../icon.png
runtime: {mode: native}
services:
  - name: web
    command: [x]
    ports: [{container: 70000}, {container: 80, hostExposure: public}]
    mounts: [{source: "state:undeclared", target: /data}, {source: "host:/etc", target: relative}]
    dependsOn: [ghost]
  - name: web
    command: "not a list"
    env: {"1BAD": x, NESTED: {a: 1}}
    restart: sometimes
state:
  autosave: "yes"
  volumes: [{name: data, consistency: mysql}, {name: data}]
secrets: [{name: "bad name"}]
publisher: {name: P, signing: {scheme: rsa, signatureFile: /abs.sig}}
`);
    const expected = [
      /^kind: must be vibe\.app\/v1, not "vibe\.app\/v2"$/,
      /^id: "not-reverse-domain" must be reverse-domain/,
      /^name: must be a non-empty string$/,
      /^version: "1\.0" must be a semantic version/,
      /^icon: "\.\.\/icon\.png" must be a relative path inside the package/,
      /ports\[0\]\.container: must be a port from 1 to 65535/,
      /ports\[1\]\.hostExposure: must be auto or none/,
      /mounts\[0\]: volume "undeclared" is not declared in state\.volumes/,
      /mounts\[1\]\.source: must be state:<volume>/,
      /mounts\[1\]\.target: must be an absolute path/,
      /services\.web\.dependsOn: no service "ghost"/,
      /services\[1\]\.name: "web" is used twice/,
      /services\.web\.command: must be a list of strings/,
      /"1BAD" is not an environment variable name/,
      /env\.NESTED: must be a string, number or boolean/,
      /services\.web\.restart: must be no, always, on-failure\[:max\] or unless-stopped/,
      /^state\.autosave: must be true or false$/,
      /state\.volumes\[0\]\.consistency: must be sqlite, postgres or generic/,
      /state\.volumes\[1\]\.name: "data" is declared twice/,
      /secrets\[0\]\.name: "bad name" must be an environment variable name/,
      /publisher\.signing\.scheme: must be ed25519/,
      /publisher\.signing\.signatureFile: "\/abs\.sig" must be a relative path/,
      /publisher\.signing\.publicKeyFile: is required/,
    ];
    for (const pattern of expected) assert.ok(problems.some((p) => pattern.test(p)), `${String(pattern)} in:\n${problems.join("\n")}`);
  });

  it("refuses what is not a manifest at all", () => {
    assert.deepEqual(problemsOf("[1, 2]"), ["the manifest must be a mapping (kind, id, name, version, runtime...)"]);
    const problems = problemsOf("kind: vibe.app/v1\n");
    for (const field of ["id: is required", "name: is required", "version: is required", "runtime: is required"]) assert.ok(problems.some((p) => p.startsWith(field)), field);
    assert.ok(problemsOf("kind: vibe.app/v1\nid: a.b\nname: A\nversion: 1.0.0\nruntime: {mode: native}\n").includes("services: native mode needs a list of services"));
    assert.ok(problemsOf("kind: vibe.app/v1\nid: a.b\nname: A\nversion: 1.0.0\nruntime: {mode: compose}\nservices: [{name: a}]\n").some((p) => p.includes("compose mode takes its services from the compose file")));
  });
});

describe("plans", () => {
  const plan = (name: string, ...deps: string[]): ServicePlan => ({
    name,
    entrypoint: [],
    command: ["true"],
    environment: {},
    ports: [],
    mounts: [],
    dependsOn: deps.map((service) => ({ service, condition: "service_started", required: true })),
    restart: { policy: "no" },
    stopSignal: "SIGTERM",
  });

  it("orders services after what they depend on, keeping the written order otherwise", () => {
    const result = startOrder([plan("web", "api", "cache"), plan("api", "db"), plan("cache"), plan("db"), plan("worker", "db")]);
    assert.ok("order" in result);
    assert.deepEqual(result.order.map((s) => s.name), ["db", "api", "cache", "web", "worker"]);
  });

  it("names the members of a cycle", () => {
    assert.deepEqual(startOrder([plan("a", "b"), plan("b", "c"), plan("c", "a"), plan("d")]), { cycle: ["a", "b", "c", "a"] });
    assert.deepEqual(startOrder([plan("self", "self")]), { cycle: ["self", "self"] });
  });

  it("interpolates as Compose does", () => {
    const variables = { SET: "value", EMPTY: "" };
    assert.equal(interpolate("${SET} $SET ${SET:-x} ${SET-x}", variables), "value value value value");
    assert.equal(interpolate("${EMPTY:-fallback}|${EMPTY-fallback}|${UNSET-fallback}|${UNSET:-}", variables), "fallback||fallback|");
    assert.equal(interpolate("$$SET costs $$5 ${UNSET}.", variables), "$SET costs $5 .");
  });

  it("reads durations as Compose writes them", () => {
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration(10), 10_000);
    assert.equal(parseDuration("10"), 10_000);
    for (const bad of ["", "ten seconds", "10x", "-1s", -1, null, {}]) assert.equal(parseDuration(bad), undefined, JSON.stringify(bad));
  });
});
