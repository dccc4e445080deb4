import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { chunksOf, stateDigest, type SnapshotDocument, type SnapshotSummary } from "../../server/supervisor/snapshots/document";
import { SnapshotRepository } from "../../server/supervisor/snapshots/repository";
import { treeDifferences, type TreeItem } from "./state-tree";

/**
 * A file's identity: changed content changes its inode or its ctime, which nothing can set back.
 * Synchronous: thousands of small chunks are looked at per check.
 */
function identityOf(path: string): string | undefined {
  const stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  return stats && `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/**
 * Checks a project's snapshots on disk with the snapshot modules themselves: the index reads,
 * each listed document reads and its state digest recomputes, every chunk it references is
 * present and matches its digest (ChunkStore.get checks), and each file's chunks put together
 * are the bytes of the state the snapshot was taken of. What was verified is remembered by file
 * identity, so a trial pays only for what is new since the last check.
 */
export class SnapshotAudit {
  private readonly chunks = new Map<string, string>();
  private readonly documents = new Map<string, { readonly identity: string; readonly chunks: ReadonlySet<string> }>();
  /** `sha256|chunk ids` of file contents already put together from their chunks and found right. */
  private readonly contents = new Set<string>();

  constructor(private readonly mtimeToleranceNs: bigint) {}

  /**
   * Checks every snapshot the index lists; `expected` gives the tree each was taken of (a
   * snapshot without one fails the check). Returns the index, oldest first.
   */
  async check(stateRoot: string, expected: (snapshotId: string) => readonly TreeItem[] | undefined): Promise<SnapshotSummary[]> {
    const repository = new SnapshotRepository(join(stateRoot, "snapshots"));
    const index = await repository.index();
    const referenced = new Set<string>();
    for (const summary of index) {
      const tree = expected(summary.snapshotId);
      if (!tree) throw new Error(`snapshot ${summary.snapshotId} is listed, and no save or restore of this test made it`);
      for (const id of await this.checkDocument(repository, summary, tree)) referenced.add(id);
    }
    for (const id of referenced) this.checkChunk(repository, id);
    return index;
  }

  /** Whatever a crash or a sweep should not leave once a save has finished: none, when all is clean. */
  garbage(stateRoot: string, index: readonly SnapshotSummary[]): string[] {
    const root = join(stateRoot, "snapshots");
    const found: string[] = [];
    if (existsSync(join(root, "saving"))) found.push("the snapshots/saving marker is still there");
    const listed = new Set(index.map((s) => s.snapshotId));
    for (const name of readdirSync(join(root, "documents"))) if (!listed.has(name.replace(/\.json\.zst$/, ""))) found.push(`documents/${name} is listed by no snapshot`);
    const referenced = new Set([...listed].flatMap((id) => [...(this.documents.get(id)?.chunks ?? [])]));
    for (const fan of readdirSync(join(root, "chunks"))) {
      for (const name of readdirSync(join(root, "chunks", fan))) {
        if (name.endsWith(".tmp")) found.push(`chunks/${fan}/${name} is a temp file a killed writer left`);
        else if (!referenced.has(name)) found.push(`chunks/${fan}/${name} is referenced by no snapshot`);
      }
    }
    return found;
  }

  private async checkDocument(repository: SnapshotRepository, summary: SnapshotSummary, tree: readonly TreeItem[]): Promise<ReadonlySet<string>> {
    const id = summary.snapshotId;
    const path = join(repository.root, "documents", `${id}.json.zst`);
    const identity = identityOf(path);
    if (identity === undefined) throw new Error(`snapshot ${id} is listed, and its document ${path} is missing`);
    const known = this.documents.get(id);
    if (known?.identity === identity) return known.chunks;
    const document = await repository.readDocument(id);
    if (document.stateDigest !== summary.stateDigest) throw new Error(`snapshot ${id}: the index says ${summary.stateDigest}, its document ${document.stateDigest}`);
    if (stateDigest(document.entries) !== document.stateDigest) throw new Error(`snapshot ${id}: its entries do not give its state digest ${document.stateDigest}`);
    const differences = treeDifferences(this.treeOf(repository, document, tree), tree, this.mtimeToleranceNs);
    if (differences.length > 0) throw new Error(`snapshot ${id} does not hold the state it was taken of:\n  ${differences.join("\n  ")}`);
    const chunks = chunksOf(document);
    this.documents.set(id, { identity, chunks });
    return chunks;
  }

  /**
   * The tree a document describes, each file's content hashed from its chunks as a restore would
   * write it; a chunk list already found to make the content `tree` expects is not read again.
   */
  private treeOf(repository: SnapshotRepository, document: SnapshotDocument, tree: readonly TreeItem[]): TreeItem[] {
    const wanted = new Map(tree.map((item) => [item.path, item.sha256]));
    const items: TreeItem[] = [];
    for (const entry of document.entries) {
      const base = { path: entry.path, type: entry.type, mode: entry.mode, size: entry.size, mtimeNs: BigInt(entry.mtimeNs) };
      if (entry.type === "symlink") items.push({ ...base, target: entry.target ?? "" });
      else if (entry.type === "file") items.push({ ...base, sha256: this.contentOf(repository, entry.chunks ?? [], wanted.get(entry.path)) });
      else items.push(base);
    }
    return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private contentOf(repository: SnapshotRepository, chunks: readonly string[], wanted: string | undefined): string {
    const key = `${wanted ?? ""}|${chunks.join(",")}`;
    if (wanted !== undefined && this.contents.has(key)) return wanted;
    const hash = createHash("sha256");
    for (const id of chunks) hash.update(this.checkChunk(repository, id, true));
    const sha256 = hash.digest("hex");
    if (sha256 === wanted) this.contents.add(key);
    return sha256;
  }

  /** The chunk's bytes (when `read`), after ChunkStore.get has checked them against the id. */
  private checkChunk(repository: SnapshotRepository, id: string, read = false): Buffer {
    const path = repository.chunks.pathOf(id);
    const identity = identityOf(path);
    if (identity === undefined) throw new Error(`chunk ${id} is referenced by a listed snapshot, and missing from the store`);
    if (!read && this.chunks.get(id) === identity) return Buffer.alloc(0);
    const bytes = repository.chunks.get(id);
    this.chunks.set(id, identity);
    return bytes;
  }
}
