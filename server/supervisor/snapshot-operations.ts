import { readdirSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type {
  DuplicateProjectResponse,
  ListSnapshotsResponse,
  RestoreSnapshotResponse,
  SaveSnapshotResponse,
  ServiceStatus,
  SnapshotReason,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import type { Logger } from "pino";
import { DomainError } from "../errors";
import { Autosaves } from "./autosaves";
import type { Clock } from "./clock";
import { parseManifestText } from "./plan-loader";
import type { ProjectRun } from "./project-run";
import { supervisorError, underReason, type SupervisorReason } from "./reasons";
import { namespaceOf, PROJECT_ID } from "./registration";
import type { ProjectRow, Registry } from "./registry";
import type { RuntimeRegistry } from "./runtime/runtimes";
import { checkLabels, reasonName, saveResponse, snapshotMessage } from "./snapshot-contract";
import type { Consistency, VolumeToSave } from "./snapshots/consistency";
import type { SnapshotReasonName, SnapshotSummary } from "./snapshots/document";
import type { SnapshotKeeper } from "./snapshots/keeper";
import type { RestoreProgress } from "./snapshots/materialize";
import type { SaveProgress } from "./snapshots/save";
import { ProgressHub, type OperationName } from "./snapshot-progress";
import { StateLayout } from "./state-layout";
import { writersOf } from "./volume-writers";

/** What snapshot operations need of the project lifecycle, which the supervisor keeps. */
export interface ProjectControl {
  /** Runs `fn` as the project's one lifecycle operation at a time. */
  locked<T>(projectId: string, fn: () => Promise<T>): Promise<T>;
  /** The registered project, or NOT_FOUND. */
  row(projectId: string): ProjectRow;
  /** The project's run while it is running. */
  running(projectId: string): ProjectRun | undefined;
  /** Stops the project if it runs; returns the secrets to start it again with, or undefined if it was not running. */
  stopForRestore(projectId: string): Promise<Readonly<Record<string, string>> | undefined>;
  startAgain(projectId: string, secrets: Readonly<Record<string, string>>): Promise<void>;
  serviceStatuses(projectId: string): ServiceStatus[];
}

export interface SnapshotSettings {
  readonly home: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly runtimes: RuntimeRegistry;
}

/**
 * SaveSnapshot, RestoreSnapshot, ListSnapshots and DuplicateProject: seed 002's reasons around
 * the snapshot keeper, with the services paused, stopped and started as each needs.
 */
export class SnapshotOperations {
  /** Saves asked for (a second is SAVE_IN_PROGRESS), and those holding the project's lock now. */
  private readonly requested = new Set<string>();
  private readonly saving = new Set<string>();
  readonly progress = new ProgressHub();
  readonly autosaves: Autosaves;

  constructor(
    private readonly control: ProjectControl,
    private readonly keeper: SnapshotKeeper,
    private readonly settings: SnapshotSettings,
  ) {
    this.autosaves = new Autosaves(settings.clock, settings.logger, (projectId) => this.autosave(projectId), (dir) => keeper.walk(dir));
  }

  /** Whether a save of the project runs now: other lifecycle calls wait for it, bounded. */
  isSaving(projectId: string): boolean {
    return this.saving.has(projectId);
  }

  async save(projectId: string, reason: SnapshotReason, labels: Readonly<Record<string, string>>): Promise<SaveSnapshotResponse> {
    const name = reasonName(reason);
    checkLabels(labels);
    this.control.row(projectId);
    const summary = await this.exclusiveSave(projectId, () => this.saveLocked(projectId, name, labels));
    if (!summary) throw supervisorError("SAVE_FAILED", `the snapshot of project ${projectId} committed nothing`);
    return saveResponse(summary);
  }

  /** A project's snapshot operations as they progress, until `signal` aborts; NOT_FOUND for an unknown project. */
  watch(projectId: string, signal: AbortSignal): ReturnType<ProgressHub["watch"]> {
    this.control.row(projectId);
    return this.progress.watch(projectId, signal);
  }

  /** An autosave, after any save under way: nothing is committed when the content did not change. */
  async autosave(projectId: string): Promise<SnapshotSummary | undefined> {
    return this.control.locked(projectId, () => this.saveLocked(projectId, "autosave", {}, true));
  }

  async list(projectId: string): Promise<ListSnapshotsResponse> {
    const row = this.control.row(projectId);
    return { snapshots: (await this.keeper.list(row.statePath)).map(snapshotMessage) };
  }

  async count(statePath: string): Promise<number> {
    return (await this.keeper.list(statePath).catch(() => [])).length;
  }

  async restore(projectId: string, snapshotId: string, safety: boolean | undefined): Promise<RestoreSnapshotResponse> {
    return this.control.locked(projectId, async () => {
      const row = this.control.row(projectId);
      const summary = await this.keeper.find(row.statePath, snapshotId);
      if (!summary) throw supervisorError("NOT_FOUND", `project ${projectId} has no snapshot ${snapshotId}`);
      if (summary.appId !== row.appId) throw supervisorError("SNAPSHOT_MISMATCH", `snapshot ${snapshotId} is of app ${summary.appId}, and project ${projectId} runs ${row.appId}`);
      const safetySnapshot = safety === false ? undefined : await this.saveLocked(projectId, "before-restore", {}).catch(rethrowAs("RESTORE_FAILED", "the safety snapshot could not be saved, so nothing was restored"));
      await this.tracked(projectId, "restore", snapshotId, async (report): Promise<undefined> => {
        const secrets = await this.control.stopForRestore(projectId);
        try {
          const progress = (counts: Parameters<typeof report>[1]): void => report("transferring", counts);
          await this.keeper.restore(row.statePath, snapshotId, progress).catch(rethrowAs("RESTORE_FAILED", `snapshot ${snapshotId} could not be restored; the state is as it was`));
        } finally {
          report("committing");
          if (secrets) await this.control.startAgain(projectId, secrets);
        }
        return undefined;
      });
      return { projectId, restoredSnapshotId: snapshotId, safetySnapshotId: safetySnapshot?.snapshotId, services: this.control.serviceStatuses(projectId) };
    });
  }

  async duplicate(sourceId: string, newId: string, snapshotId: string | undefined, statePath: string): Promise<DuplicateProjectResponse> {
    if (!PROJECT_ID.test(newId)) throw supervisorError("INVALID_ARGUMENT", `new_project_id "${newId}" must be letters, digits, ".", "_" or "-" (at most 128)`);
    if (statePath && !isAbsolute(statePath)) throw supervisorError("INVALID_ARGUMENT", `state_path "${statePath}" must be an absolute path`);
    const source = this.control.row(sourceId);
    // Before taking the locks: the new id's lock inside the source's would deadlock on a new id that is the source's own.
    if (this.settings.registry.project(newId)) throw supervisorError("CONFLICT", `project ${newId} exists already`);
    return this.control.locked(newId, () =>
      this.control.locked(sourceId, async () => {
        if (this.settings.registry.project(newId)) throw supervisorError("CONFLICT", `project ${newId} exists already`);
        const target = StateLayout.of(this.settings.home, newId, statePath).root;
        await this.claimEmpty(target);
        try {
          await this.tracked(sourceId, "duplicate", snapshotId ?? "", async (report) => {
            await this.copyState(source, target, snapshotId, ({ phase, ...counts }) => report(phase, counts));
            return undefined;
          });
        } catch (err) {
          await rm(target, { recursive: true, force: true });
          throw err instanceof DomainError && err.reason === "NOT_FOUND" ? err : rethrowAs("DUPLICATE_FAILED", `project ${sourceId} could not be duplicated`)(err);
        }
        const namespace = namespaceOf(newId);
        const { appId, packagePath, manifest, name, version, serviceCount } = source;
        this.settings.registry.insertProject({ projectId: newId, appId, packagePath, statePath: target, manifest, name, version, namespace, serviceCount });
        return { newProjectId: newId, namespace, statePath: target };
      }),
    );
  }

  /** A save while no other save of the project runs (SAVE_IN_PROGRESS otherwise), in the project's lock. */
  private async exclusiveSave<T>(projectId: string, save: () => Promise<T>): Promise<T> {
    if (this.requested.has(projectId)) throw supervisorError("SAVE_IN_PROGRESS", `a snapshot of project ${projectId} is being saved; try again when it is done`);
    this.requested.add(projectId);
    try {
      return await this.control.locked(projectId, async () => {
        this.saving.add(projectId);
        try {
          return await save();
        } finally {
          this.saving.delete(projectId);
        }
      });
    } finally {
      this.requested.delete(projectId);
    }
  }

  private async saveLocked(projectId: string, reason: SnapshotReasonName, labels: Readonly<Record<string, string>>, skipIfUnchanged = false): Promise<SnapshotSummary | undefined> {
    const row = this.control.row(projectId);
    const manifest = parseManifestText(row.manifest);
    const run = this.control.running(projectId);
    try {
      return await this.tracked(projectId, "save", "", (report) => this.keeper.save({
        stateRoot: row.statePath,
        projectId,
        appId: row.appId,
        appVersion: row.version,
        reason,
        labels,
        volumes: volumesOf(row.statePath, manifest.state.volumes),
        writers: writersOf(run, this.settings.runtimes),
        maxSnapshots: manifest.state.maxSnapshots,
        skipIfUnchanged,
        progress: ({ phase, ...counts }) => report(phase, counts),
      }));
    } catch (err) {
      return rethrowAs("SAVE_FAILED", `the snapshot of project ${projectId} failed; nothing of it was kept`)(err);
    }
  }

  private async copyState(source: ProjectRow, target: string, snapshotId: string | undefined, progress: (p: SaveProgress) => void): Promise<void> {
    const labels = { "ghostd.duplicate.source": source.projectId };
    if (snapshotId === undefined) {
      const manifest = parseManifestText(source.manifest);
      const run = this.control.running(source.projectId);
      const volumes = volumesOf(source.statePath, manifest.state.volumes);
      await this.keeper.saveInto(source.statePath, target, { projectId: source.projectId, appId: source.appId, appVersion: source.version, reason: "manual", labels, volumes, writers: writersOf(run, this.settings.runtimes), progress });
      return;
    }
    const summary = await this.keeper.find(source.statePath, snapshotId);
    if (!summary) throw supervisorError("NOT_FOUND", `project ${source.projectId} has no snapshot ${snapshotId}`);
    const repository = this.keeper.repository(source.statePath);
    const counts = (p: RestoreProgress): void => progress({ phase: "transferring", ...p });
    await this.keeper.copyTo(repository, await repository.readDocument(snapshotId), target, { ...labels, "ghostd.duplicate.snapshot": snapshotId }, counts);
  }

  /** Runs one operation, telling its watchers that it starts, how it goes, and how it ends. */
  private async tracked<T extends { snapshotId: string } | undefined>(projectId: string, operation: OperationName, snapshotId: string, work: (report: ReturnType<ProgressHub["reporter"]>) => Promise<T>): Promise<T> {
    const publish = this.progress.reporter(projectId, operation);
    const report: typeof publish = (phase, detail) => publish(phase, { snapshotId, ...detail });
    report("preparing");
    try {
      const result = await work(report);
      report("done", result ? { snapshotId: result.snapshotId } : {});
      return result;
    } catch (err) {
      report("failed", { message: (err as Error).message });
      throw err;
    }
  }

  /** The new project's state path, made here: one that holds anything already is not taken. */
  private async claimEmpty(target: string): Promise<void> {
    const present = await readdir(target).catch(() => undefined);
    if (present && present.length > 0) throw supervisorError("DUPLICATE_FAILED", `state path ${target} is not empty; give another state_path, or empty it`);
    await mkdir(target, { recursive: true, mode: 0o700 }).catch(rethrowAs("DUPLICATE_FAILED", `state path ${target} cannot be made`));
  }
}

/** Every volume under current/volumes, with the consistency its manifest declares (generic if none). */
function volumesOf(statePath: string, declared: readonly { name: string; consistency: Consistency }[]): VolumeToSave[] {
  const names = new Set(declared.map((v) => v.name));
  let present: string[] = [];
  try {
    present = readdirSync(join(statePath, "current", "volumes"));
  } catch {
    present = [];
  }
  return [...declared.filter((v) => present.includes(v.name)), ...present.filter((n) => !names.has(n)).map((name) => ({ name, consistency: "generic" as const }))];
}

/** A failure as the method's reason, its own kept as the cause: a DomainError's reason, or the error's message. */
function rethrowAs(reason: SupervisorReason, context: string): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof DomainError) throw underReason(reason, err, `${context}: ${err.message}`);
    throw supervisorError(reason, `${context}: ${(err as Error).message}`);
  };
}
