import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { VolumeManifest } from "./document";
import { isSqliteDatabase } from "./sqlite-copy";
import { walkInThread, type TreeEntry } from "./tree";
import type { ChunkThreads } from "./workers/pool";
import { withOutcomes } from "./workers/protocol";

export type Consistency = VolumeManifest["consistency"];

export interface VolumeToSave {
  readonly name: string;
  readonly consistency: Consistency;
}

/** A command whose stdout is a dump of what a service serves from a volume. */
export interface DumpSpec {
  readonly argv: readonly string[];
  /** The file its stdout is written to, as it comes. */
  readonly into: string;
  readonly timeoutMs: number;
}

export interface DumpResult {
  /** The service it ran beside. */
  readonly service: string;
  /** 127: the service has no such program (or no shell to run it). */
  readonly exitCode: number;
  /** The end of what it wrote to stderr, to tell why it failed. */
  readonly stderrTail: string;
}

/** The running services that write a volume, as the supervisor pauses them. */
export interface Writers {
  /** Pauses the running services that mount `volume` writable; says which, and how to resume them. */
  pause(volume: string): Promise<{ readonly services: readonly string[]; readonly resume: () => Promise<void> }>;
  /**
   * Runs the dump in a running service that mounts `volume` writable (the next one, where one
   * lacks the program); undefined when none runs.
   */
  dump(volume: string, spec: DumpSpec): Promise<DumpResult | undefined>;
}

/** The state as the save must read it, once each volume's hook has run. */
export interface ConsistentState {
  /** Paths under current/ whose content is read from another file (a database's consistent copy). */
  readonly substitutes: ReadonlyMap<string, string>;
  /** Paths left out: a copied database's WAL, shared memory and journal; dumps/, which only a hook writes. */
  readonly excluded: ReadonlySet<string>;
  /** Entries not under current/ (a dump, and its directory), each file with a substitute to read it from. */
  readonly additions: readonly TreeEntry[];
  readonly manifests: VolumeManifest[];
  /** Resumes what was paused; called once, also when the save fails. */
  release(): Promise<void>;
}

/** A hook that could not give a consistent copy: the save fails with it rather than record a bad one. */
export class ConsistencyFailed extends Error {}

const SIDE_FILES = ["-wal", "-shm", "-journal"];

/**
 * Where the state holds the dumps of the snapshot it was restored from (`dumps/<volume>.pgdump`),
 * for pg_restore. A save never reads it from current/: a snapshot holds only dumps taken for it.
 */
export const DUMPS = "dumps";

/**
 * pg_dump in its custom format, as the service's own environment has it connect: PGHOST, PGPORT,
 * PGUSER and PGDATABASE, or the official image's POSTGRES_USER and POSTGRES_DB.
 */
const PG_DUMP = ["sh", "-c", 'exec pg_dump -Fc -U "${PGUSER:-${POSTGRES_USER:-postgres}}" "${PGDATABASE:-${POSTGRES_DB:-${PGUSER:-${POSTGRES_USER:-postgres}}}}"'];
export const PG_DUMP_TIMEOUT_MS = 10 * 60_000;
const AS_AFTER_A_CRASH = "the data directory was copied with its writers paused, which PostgreSQL recovers from as after a crash";

/**
 * Runs the consistency hook of each volume, in the order the reference gives: databases are
 * copied and dumped first, with their writers running (they must, to finish their transactions
 * and to answer pg_dump), then the writers of the other volumes (and of postgres volumes too:
 * their data directory is saved as well) are paused until release().
 */
export async function makeConsistent(current: string, work: string, volumes: readonly VolumeToSave[], writers: Writers, threads: ChunkThreads): Promise<ConsistentState> {
  const substitutes = new Map<string, string>();
  const excluded = new Set<string>([DUMPS]);
  const additions: TreeEntry[] = [];
  const manifests: VolumeManifest[] = [];
  for (const volume of volumes.filter((v) => v.consistency === "sqlite")) manifests.push(await copyDatabases(current, work, volume, threads, substitutes, excluded));
  const dumps = new Map<string, string[]>();
  for (const volume of volumes.filter((v) => v.consistency === "postgres")) dumps.set(volume.name, await dumpDatabase(work, volume, writers, substitutes, additions));
  const resumes: (() => Promise<void>)[] = [];
  const release = async (): Promise<void> => {
    for (const resume of resumes.splice(0).reverse()) await resume();
  };
  try {
    for (const volume of volumes.filter((v) => v.consistency !== "sqlite")) {
      const paused = await writers.pause(volume.name);
      resumes.push(paused.resume);
      manifests.push({ name: volume.name, consistency: volume.consistency, result: "ok", details: dumps.get(volume.name) ?? [], paused: [...paused.services] });
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { substitutes, excluded, additions, manifests: manifests.sort((a, b) => a.name.localeCompare(b.name)), release };
}

/**
 * pg_dump -Fc in a running service that writes the volume, into the work directory, added to the
 * snapshot as dumps/<volume>.pgdump; what it did, for the volume's manifest. Not run (no service
 * runs, or it has no pg_dump) is told, not a failure; a dump that fails fails the save.
 */
async function dumpDatabase(work: string, volume: VolumeToSave, writers: Writers, substitutes: Map<string, string>, additions: TreeEntry[]): Promise<string[]> {
  const dir = join(work, DUMPS);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const into = join(dir, `${volume.name}.pgdump`);
  const dump = await writers.dump(volume.name, { argv: PG_DUMP, into, timeoutMs: PG_DUMP_TIMEOUT_MS });
  if (!dump) return [`pg_dump: not run: no running service mounts the volume; ${AS_AFTER_A_CRASH}`];
  if (dump.exitCode === 127) return [`pg_dump: not run: the service ${dump.service} has no pg_dump; ${AS_AFTER_A_CRASH}`];
  if (dump.exitCode !== 0) throw new ConsistencyFailed(`volume ${volume.name}: pg_dump -Fc in service ${dump.service} exited with ${dump.exitCode}${dump.stderrTail ? `: ${dump.stderrTail}` : ""}`);
  const path = `${DUMPS}/${volume.name}.pgdump`;
  if (!additions.some((e) => e.path === DUMPS)) additions.push(entryOf(DUMPS, dir, 0o700));
  const file = entryOf(path, into, 0o600);
  additions.push(file);
  substitutes.set(path, into);
  return [`pg_dump -Fc: ${file.size} bytes from service ${dump.service}, saved as ${path}`];
}

/** A tree entry at `path` in the state for what is at `source` in the work directory, with the mode the state gives it. */
function entryOf(path: string, source: string, mode: number): TreeEntry {
  const stats = statSync(source, { bigint: true });
  return { path, type: stats.isDirectory() ? "dir" : "file", mode, mtimeNs: stats.mtimeNs.toString(), size: stats.isDirectory() ? 0 : Number(stats.size), dev: stats.dev.toString(), ino: stats.ino.toString() };
}

async function copyDatabases(current: string, work: string, volume: VolumeToSave, threads: ChunkThreads, substitutes: Map<string, string>, excluded: Set<string>): Promise<VolumeManifest> {
  const root = join(current, "volumes", volume.name);
  const tree = await walkInThread(threads, root).catch(() => ({ entries: [] }));
  const databases = tree.entries.filter((e) => e.type === "file" && !SIDE_FILES.some((s) => e.path.endsWith(s)) && isSqliteDatabase(join(root, e.path)));
  const copies = join(work, "sqlite", volume.name);
  mkdirSync(copies, { recursive: true, mode: 0o700 });
  const jobs = databases.map((d, i) => ({ path: join(root, d.path), copy: join(copies, `${i}.db`) }));
  const { outcomes } = await threads.run({ kind: "sqlite", databases: jobs });
  const details: string[] = [];
  for (const [job, outcome] of withOutcomes(jobs, outcomes)) {
    const database = job.path.slice(root.length + 1);
    if ("failed" in outcome) throw new ConsistencyFailed(`volume ${volume.name}: ${database} could not be copied consistently: ${outcome.failed.message}`);
    if (outcome.ok.integrity !== "ok") throw new ConsistencyFailed(`volume ${volume.name}: the copy of ${database} fails integrity_check: ${outcome.ok.integrity}`);
    const inState = `volumes/${volume.name}/${database}`;
    substitutes.set(inState, job.copy);
    for (const side of SIDE_FILES) excluded.add(`${inState}${side}`);
    details.push(`${database}: checkpoint ${outcome.ok.checkpoint}; integrity_check ok`);
  }
  return { name: volume.name, consistency: "sqlite", result: "ok", details, paused: [] };
}
