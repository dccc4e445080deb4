import type { StoredFile } from "../file-chunks";
import type { FileToWrite, OpenedRestore } from "../restore-plan";
import type { CommitRequest, Committed, PlanRequest, SavePlan } from "../save-plan";
import type { SqliteCopy } from "../sqlite-copy";
import type { Tree } from "../tree";

export type { FileToWrite } from "../restore-plan";

/** A plan as the main thread sees it: the files to read, and the number its thread keeps it under. */
export type HeldPlan = Omit<SavePlan, "entries"> & { readonly plan: number };

/** A restore as the main thread sees it: the batches to write, and the number its thread keeps it under. */
export type HeldRestore = Omit<OpenedRestore, "entries"> & { readonly restore: number };

/** One batch for a chunk thread: files stored into the store or written out of it, or databases copied. */
export type ChunkJob =
  | { readonly kind: "store"; readonly store: string; readonly paths: readonly string[] }
  | { readonly kind: "write"; readonly store: string; readonly files: readonly FileToWrite[] }
  | { readonly kind: "sqlite"; readonly databases: readonly { readonly path: string; readonly copy: string }[] }
  | { readonly kind: "walk"; readonly root: string; readonly excluded: readonly string[] }
  | ({ readonly kind: "plan" } & PlanRequest)
  | ({ readonly kind: "commit"; readonly plan: number } & CommitRequest)
  | { readonly kind: "restore-open"; readonly repository: string; readonly snapshotId: string; readonly target: string }
  | { readonly kind: "restore-finish"; readonly restore: number }
  | { readonly kind: "remove"; readonly path: string };

/** What befell one file: an errno code (ENOENT for a file gone since the walk) and message. */
export interface FileFailure {
  readonly code: string;
  readonly message: string;
}

export type FileOutcome<T> = { readonly ok: T } | { readonly failed: FileFailure };

export type JobResult =
  | { readonly kind: "store"; readonly outcomes: FileOutcome<StoredFile>[] }
  | { readonly kind: "write"; readonly outcomes: FileOutcome<number>[] }
  | { readonly kind: "sqlite"; readonly outcomes: FileOutcome<SqliteCopy>[] }
  | { readonly kind: "walk"; readonly outcomes: [FileOutcome<Tree>] }
  | { readonly kind: "plan"; readonly outcomes: [FileOutcome<HeldPlan>] }
  | { readonly kind: "commit"; readonly outcomes: [FileOutcome<Committed>] }
  | { readonly kind: "restore-open"; readonly outcomes: [FileOutcome<HeldRestore>] }
  | { readonly kind: "restore-finish"; readonly outcomes: [FileOutcome<true>] }
  | { readonly kind: "remove"; readonly outcomes: [FileOutcome<true>] };

/** The one outcome of a thread's job, or its failure as an error saying what failed. */
export function onlyOutcome<T>(result: { readonly outcomes: readonly [FileOutcome<T>] }, what: string): T {
  const [outcome] = result.outcomes;
  if ("failed" in outcome) throw new Error(`${what}: ${outcome.failed.message}`);
  return outcome.ok;
}

/** Each item of a batch with its outcome: a thread answers one outcome per item, in order. */
export function withOutcomes<T, U>(items: readonly T[], outcomes: readonly FileOutcome<U>[]): [T, FileOutcome<U>][] {
  if (items.length !== outcomes.length) throw new Error(`a chunk thread answered ${outcomes.length} outcomes for ${items.length} items`);
  return items.map((item, i) => [item, outcomes[i] as FileOutcome<U>]);
}
