import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConsistencyFailed, makeConsistent, PG_DUMP_TIMEOUT_MS, type DumpResult, type DumpSpec, type VolumeToSave, type Writers } from "../../../server/supervisor/snapshots/consistency";
import { SnapshotKeeper } from "../../../server/supervisor/snapshots/keeper";
import { ChunkThreads } from "../../../server/supervisor/snapshots/workers/pool";
import { tempDir } from "../../helpers/tmp";

const AS_AFTER_A_CRASH = "the data directory was copied with its writers paused, which PostgreSQL recovers from as after a crash";

/**
 * Writers as a test scripts them: `dumped` is what a dump writes and how it ends (undefined: no
 * service runs); every call is logged in order, and what is paused and not yet resumed is counted.
 */
function fakeWriters(dumped: (spec: DumpSpec) => DumpResult | undefined) {
  const log: string[] = [];
  const specs: DumpSpec[] = [];
  let pausedNow = 0;
  const writers: Writers = {
    pause: (volume) => {
      log.push(`pause ${volume}`);
      pausedNow++;
      return Promise.resolve({
        services: ["db"],
        resume: () => {
          log.push(`resume ${volume}`);
          pausedNow--;
          return Promise.resolve();
        },
      });
    },
    dump: (volume, spec) => {
      log.push(`dump ${volume}`);
      specs.push(spec);
      return Promise.resolve(dumped(spec));
    },
  };
  return { writers, log, specs, paused: () => pausedNow };
}

/** A dump that writes `bytes` and exits 0 in service db. */
const dumping = (bytes: string) => (spec: DumpSpec) => {
  writeFileSync(spec.into, bytes);
  return { service: "db", exitCode: 0, stderrTail: "" };
};

describe("snapshot consistency hooks: postgres", () => {
  let dir: ReturnType<typeof tempDir>;
  let threads: ChunkThreads;
  let current: string;
  let work: string;
  const volumes: VolumeToSave[] = [
    { name: "files", consistency: "generic" },
    { name: "pg", consistency: "postgres" },
  ];

  beforeEach(() => {
    dir = tempDir();
    threads = new ChunkThreads(1);
    current = join(dir.path, "current");
    work = join(dir.path, "work");
    mkdirSync(join(current, "volumes", "pg"), { recursive: true });
    mkdirSync(work);
  });
  afterEach(async () => {
    await threads.close();
    dir.remove();
  });

  it("dumps with pg_dump -Fc while the writers run, then pauses them; the dump is added at dumps/<volume>.pgdump", async () => {
    const fake = fakeWriters(dumping("PGDMP-bytes"));
    const state = await makeConsistent(current, work, volumes, fake.writers, threads);
    assert.deepEqual(fake.log, ["dump pg", "pause files", "pause pg"], "every dump before any pause: pg_dump needs its server answering");
    const [spec] = fake.specs;
    assert.ok(spec);
    assert.match(spec.argv.join(" "), /^sh -c exec pg_dump -Fc -U "\$\{PGUSER:-\$\{POSTGRES_USER:-postgres\}\}" /);
    assert.equal(spec.timeoutMs, PG_DUMP_TIMEOUT_MS);
    assert.equal(state.substitutes.get("dumps/pg.pgdump"), spec.into);
    assert.equal(readFileSync(spec.into, "utf8"), "PGDMP-bytes");
    assert.ok(spec.into.startsWith(work), "the dump is written in the save's work directory, never under current/");
    assert.deepEqual(
      state.additions.map((e) => [e.path, e.type, e.mode.toString(8), e.size]),
      [
        ["dumps", "dir", "700", 0],
        ["dumps/pg.pgdump", "file", "600", 11],
      ],
    );
    assert.ok(state.excluded.has("dumps"), "a dumps/ left in current/ by a restore is never read");
    assert.deepEqual(state.manifests.find((m) => m.name === "pg"), { name: "pg", consistency: "postgres", result: "ok", details: ["pg_dump -Fc: 11 bytes from service db, saved as dumps/pg.pgdump"], paused: ["db"] });
    assert.deepEqual(state.manifests.find((m) => m.name === "files")?.details, []);
    await state.release();
    assert.equal(fake.paused(), 0);
  });

  it("reports a service without pg_dump (127) as not run, and adds nothing", async () => {
    const fake = fakeWriters(() => ({ service: "db", exitCode: 127, stderrTail: "sh: 1: exec: pg_dump: not found" }));
    const state = await makeConsistent(current, work, volumes, fake.writers, threads);
    assert.deepEqual(state.manifests.find((m) => m.name === "pg")?.details, [`pg_dump: not run: the service db has no pg_dump; ${AS_AFTER_A_CRASH}`]);
    assert.deepEqual(state.additions, []);
    assert.equal(state.substitutes.size, 0);
    await state.release();
  });

  it("reports a volume no running service mounts as not run", async () => {
    const fake = fakeWriters(() => undefined);
    const state = await makeConsistent(current, work, [{ name: "pg", consistency: "postgres" }], fake.writers, threads);
    assert.deepEqual(state.manifests, [{ name: "pg", consistency: "postgres", result: "ok", details: [`pg_dump: not run: no running service mounts the volume; ${AS_AFTER_A_CRASH}`], paused: ["db"] }]);
    assert.deepEqual(state.additions, []);
    await state.release();
  });

  it("fails on any other exit, with the end of pg_dump's stderr, leaving nothing paused", async () => {
    const stderr = 'pg_dump: error: connection to server on socket "/run/pg/.s.PGSQL.5432" failed: No such file or directory';
    const fake = fakeWriters(() => ({ service: "db", exitCode: 1, stderrTail: stderr }));
    const later: VolumeToSave[] = [{ name: "pg", consistency: "postgres" }, { name: "other", consistency: "postgres" }];
    await assert.rejects(makeConsistent(current, work, later, fake.writers, threads), (err: unknown) => err instanceof ConsistencyFailed && err.message === `volume pg: pg_dump -Fc in service db exited with 1: ${stderr}`);
    assert.deepEqual(fake.log, ["dump pg"], "nothing dumped or paused after the failure");
    assert.equal(fake.paused(), 0);
  });

  it("resumes what it paused when a later pause fails", async () => {
    const fake = fakeWriters(dumping("x"));
    const failing: Writers = { ...fake.writers, pause: (volume) => (volume === "pg" ? Promise.reject(new Error("cannot pause")) : fake.writers.pause(volume)) };
    await assert.rejects(makeConsistent(current, work, volumes, failing, threads), /cannot pause/);
    assert.deepEqual(fake.log, ["dump pg", "pause files", "resume files"]);
    assert.equal(fake.paused(), 0);
  });
});

describe("snapshot keeper: a postgres volume's dump", () => {
  let dir: ReturnType<typeof tempDir>;
  let threads: ChunkThreads;
  const request = (writers: Writers) => ({ stateRoot: dir.path, projectId: "p", appId: "a.b", appVersion: "1", reason: "manual" as const, labels: {}, volumes: [{ name: "pg", consistency: "postgres" as const }], writers, maxSnapshots: 10 });

  beforeEach(() => {
    dir = tempDir();
    threads = new ChunkThreads(1);
    mkdirSync(join(dir.path, "current", "volumes", "pg"), { recursive: true });
    writeFileSync(join(dir.path, "current", "volumes", "pg", "PG_VERSION"), "15\n");
  });
  afterEach(async () => {
    await threads.close();
    dir.remove();
  });

  it("saves the fresh dump, never the dumps/ a restore left in current/, and a restore puts it at current/dumps", async () => {
    // As a restore of an earlier snapshot leaves it: an older dump, for pg_restore.
    mkdirSync(join(dir.path, "current", "dumps"));
    writeFileSync(join(dir.path, "current", "dumps", "pg.pgdump"), "the restored, older dump");
    writeFileSync(join(dir.path, "current", "dumps", "stray"), "left by hand");
    const keeper = new SnapshotKeeper(threads, () => new Date());
    const saved = await keeper.save(request(fakeWriters(dumping("PGDMP fresh")).writers));
    assert.ok(saved);
    const document = await keeper.repository(dir.path).readDocument(saved.snapshotId);
    assert.deepEqual(
      document.entries.map((e) => [e.path, e.type, e.mode.toString(8), e.size]),
      [
        ["dumps", "dir", "700", 0],
        ["dumps/pg.pgdump", "file", "600", 11],
        ["volumes", "dir", "755", 0],
        ["volumes/pg", "dir", "755", 0],
        ["volumes/pg/PG_VERSION", "file", "644", 3],
      ],
    );

    writeFileSync(join(dir.path, "current", "dumps", "pg.pgdump"), "changed since");
    await keeper.restore(dir.path, saved.snapshotId);
    assert.equal(readFileSync(join(dir.path, "current", "dumps", "pg.pgdump"), "utf8"), "PGDMP fresh");
    assert.equal(statSync(join(dir.path, "current", "dumps", "pg.pgdump")).mode & 0o777, 0o600);

    // Not run this time: the snapshot holds no dump at all, not the one restored.
    const without = await keeper.save(request(fakeWriters(() => undefined).writers));
    assert.ok(without);
    const paths = (await keeper.repository(dir.path).readDocument(without.snapshotId)).entries.map((e) => e.path);
    assert.deepEqual(paths, ["volumes", "volumes/pg", "volumes/pg/PG_VERSION"]);
  });
});
