import { cpSync, existsSync, mkdirSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { MountPlan, ServicePlan } from "./plan";
import { supervisorError } from "./reasons";
import { SnapshotRepository } from "./snapshots/repository";

/** What GetProjectStatus tells of a project's state on disk. */
export interface StateUsage {
  /** Bytes of the regular files under current/. */
  readonly sizeBytes: number;
  readonly snapshotCount: number;
}

const DIRECTORY_MODE = 0o700;

/**
 * Where a project's state lives under its state path: `current/files/<source>` (relative binds,
 * copied from the package), `current/volumes/<name>` (named volumes) and `snapshots/`. Every
 * path of the state is made here, so snapshots can take `current/` whole.
 */
export class StateLayout {
  constructor(readonly root: string) {}

  /** `state_path` when given, else the project's place under GHOSTD_HOME. */
  static of(home: string, projectId: string, statePath?: string): StateLayout {
    return new StateLayout(statePath || join(home, "projects", projectId));
  }

  get current(): string {
    return join(this.root, "current");
  }

  get snapshots(): string {
    return join(this.root, "snapshots");
  }

  files(source: string): string {
    return join(this.current, "files", source);
  }

  volume(name: string): string {
    return join(this.current, "volumes", name);
  }

  /** The host path a mount binds; a tmpfs has none. */
  hostPath(mount: MountPlan): string {
    if (mount.kind === "volume") return this.volume(mount.source);
    if (mount.kind === "files") return this.files(mount.source);
    return "";
  }

  /** Made before the project is registered, so a state_path that cannot hold state registers nothing. */
  create(volumes: readonly string[]): void {
    try {
      for (const dir of [join(this.current, "files"), ...volumes.map((v) => this.volume(v))]) mkdirSync(dir, { recursive: true, mode: DIRECTORY_MODE });
    } catch (err) {
      throw supervisorError("PATH_NOT_FOUND", `state_path ${this.root} cannot hold the project's state: ${(err as Error).message}`);
    }
  }

  /**
   * What the services' mounts need before a first start: each volume's directory, and the
   * package paths of relative binds copied once, since afterwards the copy is the project's state.
   */
  populate(packagePath: string, services: readonly ServicePlan[]): void {
    for (const mount of services.flatMap((s) => s.mounts)) {
      if (mount.kind === "files") copyOnce(join(packagePath, mount.source), this.files(mount.source));
      if (mount.kind === "volume") mkdirSync(this.volume(mount.source), { recursive: true, mode: DIRECTORY_MODE });
    }
  }

  /** Walks current/ and counts snapshots without holding the event loop: a large state takes its time, not everyone's. */
  async usage(): Promise<StateUsage> {
    const [sizeBytes, snapshotCount] = await Promise.all([bytesUnder(this.current), countSnapshots(this.snapshots)]);
    return { sizeBytes, snapshotCount };
  }
}

/**
 * The last usage measured of each state path, so a synchronous status can tell it; a measure
 * asked for while one of the same path is under way shares it rather than walking twice.
 */
export class StateMeter {
  private readonly last = new Map<string, StateUsage>();
  private readonly walking = new Map<string, Promise<StateUsage>>();

  measure(layout: StateLayout): Promise<StateUsage> {
    const running = this.walking.get(layout.root);
    if (running) return running;
    const walk = layout.usage().then((usage) => {
      this.last.set(layout.root, usage);
      return usage;
    });
    const done = (): void => void this.walking.delete(layout.root);
    void walk.then(done, done);
    this.walking.set(layout.root, walk);
    return walk;
  }

  /** The usage measured last, or none measured yet (zeros). */
  lastOf(layout: StateLayout): StateUsage {
    return this.last.get(layout.root) ?? { sizeBytes: 0, snapshotCount: 0 };
  }
}

function copyOnce(source: string, destination: string): void {
  if (existsSync(destination)) return;
  if (existsSync(source)) cpSync(source, destination, { recursive: true });
  else mkdirSync(destination, { recursive: true, mode: DIRECTORY_MODE });
}

/** Bytes of the regular files under `dir`; symbolic links are not followed, and what vanishes mid-walk counts nothing. */
async function bytesUnder(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const sizes = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return bytesUnder(path);
      if (entry.isFile()) return stat(path).then((s) => s.size, () => 0);
      return 0;
    }),
  );
  return sizes.reduce((total, size) => total + size, 0);
}

/** The snapshots the index lists: what ListSnapshots answers, whatever else lies in the directory. */
async function countSnapshots(dir: string): Promise<number> {
  return new SnapshotRepository(dir).index().then(
    (snapshots) => snapshots.length,
    () => 0,
  );
}
