/** What a batch of received files remembers while it is open. */
export interface Batch {
  /** The sender's top-level directory names, and the fresh directories they became. */
  readonly dirs: Map<string, string>;
  /** The first paths saved, up to MAX_LISTED. */
  readonly paths: string[];
  files: number;
}

/** Batches kept open at once; the one least recently used goes first (its sender never said it was done). */
const MAX_OPEN = 256;
/** Paths a batch lists in its last response; `files` still counts them all. */
export const MAX_LISTED = 10_000;

/** Open batches by id; a file without one is a batch of its own. */
export class Batches {
  private readonly open_ = new Map<string, Batch>();

  /** Records a file the batch saved. */
  static record(batch: Batch, path: string): void {
    if (batch.paths.length < MAX_LISTED) batch.paths.push(path);
    batch.files += 1;
  }

  open(id: string | undefined): Batch {
    const fresh = (): Batch => ({ dirs: new Map(), paths: [], files: 0 });
    if (id === undefined || id === "") return fresh();
    const batch = this.open_.get(id) ?? fresh();
    // Re-inserted, so the map's order is least recently used first.
    this.open_.delete(id);
    this.open_.set(id, batch);
    while (this.open_.size > MAX_OPEN) this.open_.delete(this.open_.keys().next().value as string);
    return batch;
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.open_.delete(id);
  }
}
