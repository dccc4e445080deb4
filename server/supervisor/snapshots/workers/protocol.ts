import type { StoredFile } from "../file-chunks";
import type { CommitRequest, Committed, PlanRequest, SavePlan } from "../save-plan";

/** A plan as the main thread sees it: the files to read, and the number its thread keeps it under. */
export type HeldPlan = Omit<SavePlan, "entries"> & { readonly plan: number };
import type { SqliteCopy } from "../sqlite-copy";
import type { Tree } from "../tree";

/** A file to restore: where, from which chunks, with what mode and modification time. */
export interface FileToWrite {
  readonly path: string;
  readonly chunks: readonly string[];
  readonly mode: number;
  readonly mtimeSeconds: number;
}

/** One batch for a chunk thread: files stored into the store or written out of it, or databases copied. */
export type ChunkJob =
  | { readonly kind: "store"; readonly store: string; readonly paths: readonly string[] }
  | { readonly kind: "write"; readonly store: string; readonly files: readonly FileToWrite[] }
  | { readonly kind: "sqlite"; readonly databases: readonly { readonly path: string; readonly copy: string }[] }
  | { readonly kind: "walk"; readonly root: string; readonly excluded: readonly string[] }
  | ({ readonly kind: "plan" } & PlanRequest)
  | ({ readonly kind: "commit"; readonly plan: number } & CommitRequest);

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
  | { readonly kind: "commit"; readonly outcomes: [FileOutcome<Committed>] };

/** Each item of a batch with its outcome: a thread answers one outcome per item, in order. */
export function withOutcomes<T, U>(items: readonly T[], outcomes: readonly FileOutcome<U>[]): [T, FileOutcome<U>][] {
  if (items.length !== outcomes.length) throw new Error(`a chunk thread answered ${outcomes.length} outcomes for ${items.length} items`);
  return items.map((item, i) => [item, outcomes[i] as FileOutcome<U>]);
}
