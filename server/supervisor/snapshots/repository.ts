import { mkdirSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { decompress } from "zstd-napi";
import { replaceFile } from "../../atomic-file";
import { ChunkStore } from "./chunk-store";
import type { SnapshotDocument, SnapshotSummary } from "./document";
import { encodeDocument } from "./document-codec";
import { syncDirectory } from "../../durability";

const SNAPSHOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An index or document that cannot be read as one: the snapshots are not usable until it is fixed. */
export class RepositoryDamaged extends Error {}

/**
 * A project's snapshots on disk, under `<state>/snapshots/`: `index.json` (every snapshot's
 * summary, oldest first), `documents/<id>.json.zst` (each snapshot's full metadata) and `chunks/`.
 * Each file is replaced whole (temp, fsync, rename, fsync of its directory), so a crash leaves the
 * old version or the new one.
 */
export class SnapshotRepository {
  readonly chunks: ChunkStore;

  constructor(readonly root: string) {
    this.chunks = new ChunkStore(join(root, "chunks"));
  }

  static isSnapshotId(id: string): boolean {
    return SNAPSHOT_ID.test(id);
  }

  get work(): string {
    return join(this.root, "work");
  }

  private get documents(): string {
    return join(this.root, "documents");
  }

  private get indexPath(): string {
    return join(this.root, "index.json");
  }

  /** Oldest first; none before the first save. */
  async index(): Promise<SnapshotSummary[]> {
    return (await this.readIndex()).snapshots;
  }

  /**
   * The index, oldest first, and its head: the snapshot current/ derives from, the last one saved
   * or restored (a restore makes an older one the head); the newest once the head is pruned, none
   * before the first save. One read, for callers that need both.
   */
  async listing(): Promise<{ snapshots: SnapshotSummary[]; head: SnapshotSummary | undefined }> {
    const { snapshots, head } = await this.readIndex();
    return { snapshots, head: snapshots.find((s) => s.snapshotId === head) ?? snapshots.at(-1) };
  }

  async head(): Promise<SnapshotSummary | undefined> {
    return (await this.listing()).head;
  }

  private async readIndex(): Promise<{ snapshots: SnapshotSummary[]; head?: string }> {
    let text: string;
    try {
      text = await readFile(this.indexPath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { snapshots: [] };
      throw err;
    }
    const parsed = parseJson(text, this.indexPath) as { format?: number; snapshots?: SnapshotSummary[]; head?: string };
    if (parsed.format !== 1 || !Array.isArray(parsed.snapshots)) throw new RepositoryDamaged(`${this.indexPath} is not a snapshot index of format 1`);
    return { snapshots: parsed.snapshots, ...(typeof parsed.head === "string" ? { head: parsed.head } : {}) };
  }

  /** Replaces the index; `head`: the snapshot current/ now derives from. */
  async writeIndex(snapshots: readonly SnapshotSummary[], head: string | undefined): Promise<void> {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    await replaceFile(this.indexPath, `${JSON.stringify({ format: 1, head, snapshots })}\n`);
    await syncDirectory(this.root);
  }

  async writeDocument(document: SnapshotDocument): Promise<void> {
    mkdirSync(this.documents, { recursive: true, mode: 0o700 });
    await replaceFile(this.documentPath(document.snapshotId), encodeDocument(document));
    await syncDirectory(this.documents);
  }

  async readDocument(snapshotId: string): Promise<SnapshotDocument> {
    const path = this.documentPath(snapshotId);
    const stored = await readFile(path);
    let text: string;
    try {
      text = decompress(stored).toString("utf8");
    } catch (err) {
      throw new RepositoryDamaged(`${path} does not decompress: ${(err as Error).message}`);
    }
    const document = parseJson(text, path) as SnapshotDocument;
    if ((document.format as number) !== 1 || document.snapshotId !== snapshotId || !Array.isArray(document.entries)) throw new RepositoryDamaged(`${path} is not the document of snapshot ${snapshotId}`);
    return document;
  }

  async removeDocument(snapshotId: string): Promise<void> {
    await rm(this.documentPath(snapshotId), { force: true });
  }

  private documentPath(snapshotId: string): string {
    if (!SNAPSHOT_ID.test(snapshotId)) throw new RangeError(`not a snapshot id: ${snapshotId}`);
    return join(this.documents, `${snapshotId}.json.zst`);
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RepositoryDamaged(`${path} is not JSON: ${(err as Error).message}`);
  }
}
