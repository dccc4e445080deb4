import { status as Code } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ServiceState, type SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { SnapshotRepository } from "../../server/supervisor/snapshots/repository";
import { containerDaemon } from "../helpers/container-daemon";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../helpers/images";
import { supervisorCalls, type SupervisorCalls } from "../helpers/supervisor-calls";
import { failsWith, supervisorClient, writePackage } from "../helpers/supervisor";
import { tempDir } from "../helpers/tmp";
import { file, program, requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

const PORT_RANGE = "48600-48649";
const CONTAINER_PORT_RANGE = "48650-48699";
const DEBIAN_PACKAGE = "postgresql-15";
const AS_AFTER_A_CRASH = "the data directory was copied with its writers paused, which PostgreSQL recovers from as after a crash";

/** Debian keeps the server's programs (initdb, postgres) off PATH, by major version: the newest here, else the one .ci/run installs. */
function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "postgres"))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0] ?? "15";
  return join(root, newest, "bin");
}

/**
 * A native package running a real PostgreSQL on its `pg` volume (consistency: postgres): `db`
 * makes its cluster on first start and serves it on a socket in the volume, no TCP; `seed`, once
 * db answers, creates a table with two rows through psql. Both find the server by PGHOST, as the
 * snapshot's pg_dump, run in db, does; db's PGDATABASE (`dumped`) is the database it dumps.
 */
function manifest(bin: string, dumped = "postgres"): string {
  const env = (database: string): string => `{PATH: "${bin}:/usr/bin:/bin", PGHOST: "\${GHOSTD_MOUNT_VAR_LIB_PG}/run", PGUSER: app, PGDATABASE: ${database}}`;
  return `kind: vibe.app/v1
id: dev.test.pgsnap
name: Postgres snapshots
version: 1.0.0
runtime: {mode: native}
services:
  - name: db
    command:
      - sh
      - -c
      - |
        set -e
        data="$$GHOSTD_MOUNT_VAR_LIB_PG/data"
        # The socket directory is the server's alone: one restored from a snapshot holds a stale lock file.
        rm -rf "$$PGHOST"
        mkdir -p "$$PGHOST"
        [ -f "$$data/PG_VERSION" ] || initdb -D "$$data" -U app --auth=trust --no-locale -E UTF8 > /dev/null
        exec postgres -D "$$data" -k "$$PGHOST" -c listen_addresses=
    env: ${env(dumped)}
    mounts: [{source: "state:pg", target: /var/lib/pg}]
    healthcheck: {test: [CMD, pg_isready, -q], interval: 200ms, timeout: 5s, retries: 150}
  - name: seed
    command: [psql, -v, ON_ERROR_STOP=1, -q, -c, "CREATE TABLE IF NOT EXISTS fruit (name text PRIMARY KEY, crates int)", -c, "INSERT INTO fruit VALUES ('apple', 12), ('quince', 3) ON CONFLICT DO NOTHING"]
    env: ${env("postgres")}
    mounts: [{source: "state:pg", target: /var/lib/pg, readOnly: true}]
    dependsOn: [db]
state:
  volumes: [{name: pg, consistency: postgres}]
`;
}

describe("snapshots of a postgres volume (a real PostgreSQL, pg_dump -Fc)", function () {
  this.timeout(180_000);
  const bin = postgresBin();
  let daemon: DaemonProcess;
  let client: SupervisorClient;
  let calls: SupervisorCalls;
  let work: ReturnType<typeof tempDir>;
  const projectId = `pg-snap-${process.pid}`;
  let state: string;

  before(async function () {
    const needs = [file(join(bin, "initdb"), DEBIAN_PACKAGE), file(join(bin, "postgres"), DEBIAN_PACKAGE), file(join(bin, "pg_dump"), DEBIAN_PACKAGE), file(join(bin, "pg_restore"), DEBIAN_PACKAGE), file(join(bin, "psql"), DEBIAN_PACKAGE), file(join(bin, "pg_isready"), DEBIAN_PACKAGE)];
    // PostgreSQL will not run as root: a root daemon runs services as another user only in its sandbox.
    if (process.getuid?.() === 0) needs.push(program("bwrap", "bubblewrap"));
    requireTools(this, needs);
    work = tempDir();
    daemon = await spawnDaemon({ args: ["--port-range", PORT_RANGE, "--log-level", "warn", "--runtime", "process"] });
    client = supervisorClient(daemon.endpoints.grpc ?? "");
    calls = supervisorCalls(client);
    state = await started(projectId, manifest(bin));
    await seeded(projectId);
  });

  after(async () => {
    if (!(daemon as DaemonProcess | undefined)) return;
    await calls.stop(projectId).catch(() => undefined);
    client.close();
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  /** Registers, opens and starts a project of `vibeYaml`; returns its state path. */
  async function started(id: string, vibeYaml: string): Promise<string> {
    const pkg = writePackage(join(work.path, `pkg-${id}`), { "vibe.yaml": vibeYaml });
    const statePath = join(work.path, `state-${id}`);
    await calls.ensure({ projectId: id, appId: "dev.test.pgsnap", packagePath: pkg, statePath });
    await calls.open(id);
    await calls.start(id);
    return statePath;
  }

  /** Resolves once seed has run to its end, failing if it failed. */
  async function seeded(id: string): Promise<void> {
    const seed = await waitFor("seed to finish", async () => (await calls.status(id)).services.find((s) => s.name === "seed" && s.status !== ServiceState.SERVICE_STATE_STARTING && s.status !== ServiceState.SERVICE_STATE_RUNNING), 60_000);
    assert.equal(seed.status, ServiceState.SERVICE_STATE_STOPPED, "seed's psql ran and exited 0");
  }

  const pgRestore = (...args: string[]): string => execFileSync(join(bin, "pg_restore"), args, { encoding: "utf8" });

  it("dumps the running server into the snapshot as dumps/pg.pgdump, and a restore leaves that dump in current/dumps for pg_restore", async () => {
    const saved = await calls.saveSnapshot({ projectId });
    const repository = new SnapshotRepository(join(state, "snapshots"));
    const document = await repository.readDocument(saved.snapshotId);
    const [volume] = document.volumes;
    assert.ok(volume, "the pg volume has a manifest");
    assert.equal(volume.consistency, "postgres");
    assert.deepEqual(volume.paused, ["db"], "its writer was paused after the dump, while its data directory was read");
    const told = /^pg_dump -Fc: (\d+) bytes from service db, saved as dumps\/pg\.pgdump$/.exec(volume.details[0] ?? "");
    assert.ok(told, `manifest details: ${JSON.stringify(volume.details)}`);
    const dump = document.entries.find((e) => e.path === "dumps/pg.pgdump");
    assert.ok(dump, "the document holds the dump");
    assert.equal(dump.type, "file");
    assert.equal(dump.mode, 0o600);
    assert.equal(dump.size, Number(told[1]));
    assert.ok(document.entries.some((e) => e.path === "volumes/pg/data/PG_VERSION"), "the data directory is saved too");
    assert.ok(!existsSync(join(state, "current", "dumps")), "a save never writes under current/");

    const restored = await calls.restoreSnapshot({ projectId, snapshotId: saved.snapshotId });
    const safety = await repository.readDocument(restored.safetySnapshotId ?? "");
    assert.match(safety.volumes[0]?.details[0] ?? "", /^pg_dump -Fc: \d+ bytes from service db/, "the safety snapshot dumped the server too");
    const restoredDump = join(state, "current", "dumps", "pg.pgdump");
    assert.equal(statSync(restoredDump).size, dump.size);
    assert.match(pgRestore("--list", restoredDump), /TABLE public fruit app/);
    const data = pgRestore("--data-only", "--table=fruit", "-f", "-", restoredDump);
    assert.match(data, /^apple\t12$/m);
    assert.match(data, /^quince\t3$/m);
    // Started again on the restored data directory, which it recovers: seed finds its table there.
    await seeded(projectId);
  });

  it("fails the save when pg_dump fails, with its stderr, keeping nothing and leaving the server running", async () => {
    const id = `${projectId}-bad`;
    const badState = await started(id, manifest(bin, "ledger"));
    try {
      await seeded(id);
      await failsWith(calls.saveSnapshot({ projectId: id }), Code.INTERNAL, "SAVE_FAILED", /volume pg: pg_dump -Fc in service db exited with 1: .*database "ledger" does not exist/);
      assert.deepEqual((await calls.listSnapshots({ projectId: id })).snapshots, []);
      assert.deepEqual(readdirSync(join(badState, "snapshots", "work")), [], "the failed save's work directory, and its partial dump, are gone");
      const db = (await calls.status(id)).services.find((s) => s.name === "db");
      assert.equal(db?.status, ServiceState.SERVICE_STATE_RUNNING);
      // Answering, so not left paused: pg_isready, from here, on the socket in the volume.
      execFileSync(join(bin, "pg_isready"), ["-q", "-t", "10", "-h", join(badState, "current", "volumes", "pg", "run")]);
    } finally {
      await calls.stop(id);
    }
  });

  it("says pg_dump was not run when the service writing the volume has no pg_dump (127)", async () => {
    const id = `${projectId}-nodump`;
    // A PATH with a shell and nothing else: the hook's sh runs, and finds no pg_dump.
    const pkg = writePackage(join(work.path, `pkg-${id}`), {
      "vibe.yaml": `kind: vibe.app/v1
id: dev.test.pgsnap
name: No pg_dump
version: 1.0.0
runtime: {mode: native}
services:
  - name: app
    command: [/bin/sleep, "600"]
    env: {PATH: "${join(work.path, `pkg-${id}`, "bin")}"}
    mounts: [{source: "state:pg", target: /var/lib/pg}]
    stopSignal: SIGKILL
state:
  volumes: [{name: pg, consistency: postgres}]
`,
    });
    mkdirSync(join(pkg, "bin"));
    symlinkSync("/bin/sh", join(pkg, "bin", "sh"));
    const statePath = join(work.path, `state-${id}`);
    await calls.ensure({ projectId: id, appId: "dev.test.pgsnap", packagePath: pkg, statePath });
    await calls.open(id);
    await calls.start(id);
    try {
      const saved = await calls.saveSnapshot({ projectId: id });
      const document = await new SnapshotRepository(join(statePath, "snapshots")).readDocument(saved.snapshotId);
      assert.deepEqual(document.volumes, [{ name: "pg", consistency: "postgres", result: "ok", details: [`pg_dump: not run: the service app has no pg_dump; ${AS_AFTER_A_CRASH}`], paused: ["app"] }]);
      assert.ok(!document.entries.some((e) => e.path.startsWith("dumps")));
    } finally {
      await calls.stop(id);
    }
  });

  it("says pg_dump was not run when no service runs, and saves no dump, not even the one a restore left", async () => {
    await calls.stop(projectId);
    mkdirSync(join(state, "current", "dumps"), { recursive: true });
    writeFileSync(join(state, "current", "dumps", "pg.pgdump"), "as a restore leaves it");
    const saved = await calls.saveSnapshot({ projectId });
    const document = await new SnapshotRepository(join(state, "snapshots")).readDocument(saved.snapshotId);
    assert.deepEqual(document.volumes, [{ name: "pg", consistency: "postgres", result: "ok", details: [`pg_dump: not run: no running service mounts the volume; ${AS_AFTER_A_CRASH}`], paused: [] }]);
    assert.ok(!document.entries.some((e) => e.path.startsWith("dumps")), "no dumps/ entry");
    assert.ok(document.entries.some((e) => e.path === "volumes/pg/data/PG_VERSION"));
  });
});

/**
 * The hook through the container runtime: pg_dump is an exec in the service's container, its
 * stdout taken apart from stderr on the engine's one stream. No PostgreSQL image can be pulled
 * here, so a busybox container stands in, with a pg_dump of its own that tells what it was asked.
 */
describe("snapshots of a postgres volume on the container runtime (a real engine)", function () {
  this.timeout(180_000);
  const env = containerDaemon({ portRange: CONTAINER_PORT_RANGE, images: [ensureBusyboxImage] });

  it("execs pg_dump in the container, as the official image's POSTGRES_USER and POSTGRES_DB say, and saves what it printed", async () => {
    const id = env.track(`pg-snap-ctr-${process.pid}`);
    // A stand-in pg_dump: its arguments and 200 KiB on stdout (more than one frame of the engine's stream), a warning on stderr.
    const fake = 'mkdir -p /tmp/bin && printf "#!/bin/sh\\necho \\"pg_dump \\$$*\\"\\nhead -c 204800 /dev/zero\\necho warned >&2\\n" > /tmp/bin/pg_dump && chmod +x /tmp/bin/pg_dump && exec sleep 600';
    const compose = `services:
  db:
    image: ${BUSYBOX_IMAGE}
    command: [sh, -c, '${fake}']
    environment: {PATH: "/tmp/bin:/bin", POSTGRES_USER: shop, POSTGRES_DB: orders}
    volumes: ["pgdata:/var/lib/postgresql/data"]
    stop_signal: SIGKILL
volumes:
  pgdata: {}
`;
    const vibe = "kind: vibe.app/v1\nid: dev.test.pgctr\nname: pg\nversion: 1.0.0\nruntime: {mode: compose}\nstate:\n  volumes: [{name: pgdata, consistency: postgres}]\n";
    const pkg = writePackage(join(env.work.path, "pgctr"), { "vibe.yaml": vibe, "compose.yaml": compose });
    const statePath = join(env.work.path, "pgctr-state");
    await env.calls.ensure({ projectId: id, appId: "dev.test.pgctr", packagePath: pkg, statePath });
    await env.calls.open(id);
    await env.calls.start(id);
    try {
      const saved = await env.calls.saveSnapshot({ projectId: id });
      const document = await new SnapshotRepository(join(statePath, "snapshots")).readDocument(saved.snapshotId);
      const expected = Buffer.concat([Buffer.from("pg_dump -Fc -U shop orders\n"), Buffer.alloc(204_800)]);
      assert.deepEqual(document.volumes, [{ name: "pgdata", consistency: "postgres", result: "ok", details: [`pg_dump -Fc: ${expected.length} bytes from service db, saved as dumps/pgdata.pgdump`], paused: ["db"] }]);
      await env.calls.restoreSnapshot({ projectId: id, snapshotId: saved.snapshotId, createSafetySnapshot: false });
      assert.deepEqual(readFileSync(join(statePath, "current", "dumps", "pgdata.pgdump")), expected, "stdout alone, whole, without the stream's frame headers");
    } finally {
      await env.calls.stop(id);
    }
  });
});
