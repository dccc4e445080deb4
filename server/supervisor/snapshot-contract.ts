import { SnapshotReason, type Snapshot, type SaveSnapshotResponse } from "../../generated/ghostd/supervisor/v1/supervisor";
import { SnapshotOperation, SnapshotPhase, type WatchSnapshotProgressResponse } from "../../generated/ghostd/supervisor/v1/progress";
import { supervisorError } from "./reasons";
import type { OperationName, PhaseName, ProgressEvent } from "./snapshot-progress";
import { SNAPSHOT_REASONS, type SnapshotReasonName, type SnapshotSummary } from "./snapshots/document";

/* The snapshot operations' words in seed 002's contract, beside contract.ts for the lifecycle's. */

const REASONS: readonly (readonly [SnapshotReasonName, SnapshotReason])[] = [
  ["manual", SnapshotReason.SNAPSHOT_REASON_MANUAL],
  ["autosave", SnapshotReason.SNAPSHOT_REASON_AUTOSAVE],
  ["before-upgrade", SnapshotReason.SNAPSHOT_REASON_BEFORE_UPGRADE],
  ["before-restore", SnapshotReason.SNAPSHOT_REASON_BEFORE_RESTORE],
];

const MAX_LABELS = 64;
const MAX_LABEL_KEY = 128;
const MAX_LABEL_VALUE = 1024;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** `manual` when unset; a value outside the seed's four is INVALID_ARGUMENT naming them. */
export function reasonName(reason: SnapshotReason): SnapshotReasonName {
  if (reason === SnapshotReason.SNAPSHOT_REASON_UNSPECIFIED) return "manual";
  const known = REASONS.find(([, r]) => r === reason);
  if (!known) throw supervisorError("INVALID_ARGUMENT", `reason must be one of ${SNAPSHOT_REASONS.join(", ")}`);
  return known[0];
}

export function reasonOf(name: SnapshotReasonName): SnapshotReason {
  return REASONS.find(([n]) => n === name)?.[1] ?? SnapshotReason.SNAPSHOT_REASON_UNSPECIFIED;
}

/** Labels are kept in every snapshot's metadata and index entry: their number and sizes are bounded. */
export function checkLabels(labels: Readonly<Record<string, string>>): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw supervisorError("INVALID_ARGUMENT", `at most ${MAX_LABELS} labels, not ${entries.length}`);
  for (const [key, value] of entries) {
    const shown = JSON.stringify(key.slice(0, 60));
    if (key.length > MAX_LABEL_KEY || !LABEL_KEY.test(key)) throw supervisorError("INVALID_ARGUMENT", `label ${shown}: a key is 1 to ${MAX_LABEL_KEY} letters, digits, ".", "_", "/" or "-", starting with a letter or digit`);
    if (value.length > MAX_LABEL_VALUE) throw supervisorError("INVALID_ARGUMENT", `label ${shown}: a value is at most ${MAX_LABEL_VALUE} characters`);
    if (value.includes("\0")) throw supervisorError("INVALID_ARGUMENT", `label ${shown}: a value cannot hold a NUL byte`);
  }
}

export function saveResponse(summary: SnapshotSummary): SaveSnapshotResponse {
  return { snapshotId: summary.snapshotId, timestamp: new Date(summary.timestamp), stateDigest: summary.stateDigest, sizeBytes: summary.sizeBytes, addedBytes: summary.addedBytes };
}

export function snapshotMessage(summary: SnapshotSummary): Snapshot {
  return {
    snapshotId: summary.snapshotId,
    timestamp: new Date(summary.timestamp),
    parentSnapshotId: summary.parentSnapshotId,
    reason: reasonOf(summary.reason),
    appVersion: summary.appVersion,
    stateDigest: summary.stateDigest,
    sizeBytes: summary.sizeBytes,
    labels: { ...summary.labels },
    addedBytes: summary.addedBytes,
  };
}

const OPERATIONS: Readonly<Record<OperationName, SnapshotOperation>> = {
  none: SnapshotOperation.SNAPSHOT_OPERATION_UNSPECIFIED,
  save: SnapshotOperation.SNAPSHOT_OPERATION_SAVE,
  restore: SnapshotOperation.SNAPSHOT_OPERATION_RESTORE,
  duplicate: SnapshotOperation.SNAPSHOT_OPERATION_DUPLICATE,
};

const PHASES: Readonly<Record<PhaseName, SnapshotPhase>> = {
  idle: SnapshotPhase.SNAPSHOT_PHASE_UNSPECIFIED,
  preparing: SnapshotPhase.SNAPSHOT_PHASE_PREPARING,
  transferring: SnapshotPhase.SNAPSHOT_PHASE_TRANSFERRING,
  committing: SnapshotPhase.SNAPSHOT_PHASE_COMMITTING,
  done: SnapshotPhase.SNAPSHOT_PHASE_DONE,
  failed: SnapshotPhase.SNAPSHOT_PHASE_FAILED,
};

export function progressMessage(event: ProgressEvent): WatchSnapshotProgressResponse {
  const { snapshotId, filesDone, filesTotal, bytesDone, bytesTotal, message } = event;
  return { operation: OPERATIONS[event.operation], phase: PHASES[event.phase], snapshotId, filesDone, filesTotal, bytesDone, bytesTotal, message };
}
