import { createHash } from "node:crypto";
import type { TreeEntry } from "./tree";

export const SNAPSHOT_REASONS = ["manual", "autosave", "before-upgrade", "before-restore"] as const;
export type SnapshotReasonName = (typeof SNAPSHOT_REASONS)[number];

/** One entry of a snapshot: a tree entry with, for a file, its chunks in order. */
export interface SnapshotEntry extends TreeEntry {
  readonly chunks?: readonly string[];
}

/** What a volume's consistency hook did during the save. */
export interface VolumeManifest {
  readonly name: string;
  readonly consistency: "sqlite" | "postgres" | "generic";
  /** The hook's result: "ok", or what it could not do; the save fails rather than record a failed integrity check. */
  readonly result: string;
  /** Per database or dump, what was checked and found. */
  readonly details: readonly string[];
  /** Services paused while the volume was read (generic). */
  readonly paused: readonly string[];
}

/** What the index and ListSnapshots hold of a snapshot: all but its entries. */
export interface SnapshotSummary {
  readonly snapshotId: string;
  readonly timestamp: string;
  readonly parentSnapshotId?: string;
  readonly reason: SnapshotReasonName;
  readonly appId: string;
  readonly appVersion: string;
  readonly stateDigest: string;
  /** Logical bytes of every file in the snapshot. */
  readonly sizeBytes: number;
  /** Bytes this snapshot added to the chunk store (compressed, on disk). */
  readonly addedBytes: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** A snapshot's metadata document: immutable once written; `format` for readers of later releases. */
export interface SnapshotDocument extends SnapshotSummary {
  readonly format: 1;
  readonly projectId: string;
  readonly entries: readonly SnapshotEntry[];
  readonly volumes: readonly VolumeManifest[];
  /** Sockets, FIFOs and devices found in the state and not saved. */
  readonly skipped: readonly string[];
}

/**
 * `sha256:` over the content in a canonical form: for each entry in path order, its type, path,
 * permission bits, and a file's size and chunk ids or a link's target; never times, inodes or
 * how chunks were compressed. Chunk boundaries depend only on content, so the same content always
 * gives the same digest, and SHA-256 chunk ids stand for the bytes.
 */
export function stateDigest(entries: readonly SnapshotEntry[]): string {
  const hash = createHash("sha256");
  for (const entry of entries) {
    const content = entry.type === "file" ? `${entry.size}:${(entry.chunks ?? []).join(",")}` : entry.type === "symlink" ? (entry.target ?? "") : "";
    hash.update(`${entry.type}\0${entry.path}\0${entry.mode.toString(8)}\0${content}\n`);
  }
  return `sha256:${hash.digest("hex")}`;
}

export function summaryOf(document: SnapshotDocument): SnapshotSummary {
  const { snapshotId, timestamp, parentSnapshotId, reason, appId, appVersion, stateDigest: digest, sizeBytes, addedBytes, labels } = document;
  return { snapshotId, timestamp, ...(parentSnapshotId ? { parentSnapshotId } : {}), reason, appId, appVersion, stateDigest: digest, sizeBytes, addedBytes, labels };
}

/** Every chunk a document references. */
export function chunksOf(document: Pick<SnapshotDocument, "entries">): Set<string> {
  const ids = new Set<string>();
  for (const entry of document.entries) for (const id of entry.chunks ?? []) ids.add(id);
  return ids;
}
