import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { VolumeManifest } from "./document";
import { isSqliteDatabase } from "./sqlite-copy";
import { walkInThread } from "./tree";
import type { ChunkThreads } from "./workers/pool";
import { withOutcomes } from "./workers/protocol";

export type Consistency = VolumeManifest["consistency"];

export interface VolumeToSave {
  readonly name: string;
  readonly consistency: Consistency;
}

/** The running services that write a volume, as the supervisor pauses them. */
export interface Writers {
  /** Pauses the running services that mount `volume` writable; says which, and how to resume them. */
  pause(volume: string): Promise<{ readonly services: readonly string[]; readonly resume: () => Promise<void> }>;
}

/** The state as the save must read it, once each volume's hook has run. */
export interface ConsistentState {
  /** Paths under current/ whose content is read from another file (a database's consistent copy). */
  readonly substitutes: ReadonlyMap<string, string>;
  /** Paths left out: a copied database's WAL, shared memory and journal. */
  readonly excluded: ReadonlySet<string>;
  readonly manifests: VolumeManifest[];
  /** Resumes what was paused; called once, also when the save fails. */
  release(): Promise<void>;
}

/** A hook that could not give a consistent copy: the save fails with it rather than record a bad one. */
export class ConsistencyFailed extends Error {}

const SIDE_FILES = ["-wal", "-shm", "-journal"];

/**
 * Runs the consistency hook of each volume, in the order the reference gives: databases are
 * copied first, with their writers running (they must, to finish their transactions), then
 * the writers of the other volumes are paused until release().
 */
export async function makeConsistent(current: string, work: string, volumes: readonly VolumeToSave[], writers: Writers, threads: ChunkThreads): Promise<ConsistentState> {
  const substitutes = new Map<string, string>();
  const excluded = new Set<string>();
  const manifests: VolumeManifest[] = [];
  for (const volume of volumes.filter((v) => v.consistency === "sqlite")) manifests.push(await copyDatabases(current, work, volume, threads, substitutes, excluded));
  const resumes: (() => Promise<void>)[] = [];
  const release = async (): Promise<void> => {
    for (const resume of resumes.splice(0).reverse()) await resume();
  };
  try {
    for (const volume of volumes.filter((v) => v.consistency !== "sqlite")) {
      const paused = await writers.pause(volume.name);
      resumes.push(paused.resume);
      manifests.push(pausedManifest(volume, paused.services));
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { substitutes, excluded, manifests: manifests.sort((a, b) => a.name.localeCompare(b.name)), release };
}

function pausedManifest(volume: VolumeToSave, services: readonly string[]): VolumeManifest {
  const details = volume.consistency === "postgres" ? ["pg_dump: not run; the data directory was copied with its writers paused, which PostgreSQL recovers from as after a crash"] : [];
  return { name: volume.name, consistency: volume.consistency, result: "ok", details, paused: [...services] };
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
