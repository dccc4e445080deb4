import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ChunkCorrupt, chunkId, decodeChunk, encodeChunk } from "../../../server/supervisor/snapshots/chunk-codec";
import { ChunkStore } from "../../../server/supervisor/snapshots/chunk-store";
import { AVERAGE_CHUNK, chunkEnd, MAX_CHUNK, MIN_CHUNK } from "../../../server/supervisor/snapshots/chunking";
import { stateDigest, type SnapshotSummary } from "../../../server/supervisor/snapshots/document";
import { SnapshotKeeper } from "../../../server/supervisor/snapshots/keeper";
import { materialize, MaterializeFailed } from "../../../server/supervisor/snapshots/materialize";
import { snapshotsToPrune } from "../../../server/supervisor/snapshots/retention";
import { SnapshotRepository } from "../../../server/supervisor/snapshots/repository";
import { recoverState } from "../../../server/supervisor/snapshots/state-swap";
import { sortedByPath, walkTreeSync } from "../../../server/supervisor/snapshots/tree";
import { ChunkThreads } from "../../../server/supervisor/snapshots/workers/pool";
import { tempDir } from "../../helpers/tmp";

/** Chunk boundaries of a whole buffer. */
function cuts(data: Uint8Array): number[] {
  const ends: number[] = [];
  for (let start = 0; start < data.length; ) ends.push((start = chunkEnd(data, start, data.length, true)));
  return ends;
}

/** Deterministic pseudo-random bytes: the same seed, the same bytes. */
function seeded(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0, block = 0; i < length; block++) i += createHash("sha256").update(`${seed}:${block}`).digest().copy(out, i);
  return out;
}

describe("snapshot chunking", () => {
  it("cuts the same content at the same places, within the minimum and maximum, about a mebibyte apart", () => {
    const data = seeded("a", 32 * 1024 * 1024);
    const ends = cuts(data);
    assert.deepEqual(cuts(Buffer.from(data)), ends);
    const sizes = ends.map((end, i) => end - (ends[i - 1] ?? 0));
    assert.ok(sizes.slice(0, -1).every((s) => s >= MIN_CHUNK && s <= MAX_CHUNK), "every chunk but the last within bounds");
    const average = data.length / sizes.length;
    assert.ok(average > AVERAGE_CHUNK * 0.8 && average < AVERAGE_CHUNK * 1.6, `average ${Math.round(average / 1024)} KiB`);
  });

  it("moves only the chunks around an insertion: the rest are the same chunks", () => {
    const data = seeded("b", 24 * 1024 * 1024);
    const edited = Buffer.concat([data.subarray(0, 5_000_000), Buffer.from("inserted bytes"), data.subarray(5_000_000)]);
    const ids = (buffer: Buffer): Set<string> => {
      let start = 0;
      return new Set(cuts(buffer).map((end) => chunkId(buffer.subarray(start, (start = end)))));
    };
    const before = ids(data);
    const shared = [...ids(edited)].filter((id) => before.has(id)).length;
    assert.ok(shared >= before.size - 3, `${shared} of ${before.size} chunks shared`);
  });

  it("refuses to cut short of MAX_CHUNK unless at the end of the file, and gives a small file one chunk", () => {
    assert.throws(() => chunkEnd(Buffer.alloc(MAX_CHUNK - 1), 0, MAX_CHUNK - 1, false), RangeError);
    assert.equal(chunkEnd(Buffer.alloc(1000), 0, 1000, true), 1000);
  });
});

describe("snapshot chunk files", () => {
  it("compresses what pays and stores random data as it is; a read checks the digest", () => {
    const text = Buffer.from("log line with some repetition\n".repeat(40_000));
    const random = randomBytes(1024 * 1024);
    const packedText = Buffer.concat(encodeChunk(text));
    const packedRandom = Buffer.concat(encodeChunk(random));
    assert.equal(packedText[0], 1);
    assert.ok(packedText.length < text.length / 20);
    assert.equal(packedRandom[0], 0);
    assert.equal(packedRandom.length, random.length + 1);
    assert.deepEqual(decodeChunk(chunkId(text), packedText), text);
    assert.deepEqual(decodeChunk(chunkId(random), packedRandom), random);
    const flipped = Buffer.from(packedRandom);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    assert.throws(() => decodeChunk(chunkId(random), flipped), ChunkCorrupt);
    assert.throws(() => decodeChunk(chunkId(text), packedText.subarray(0, 50)), ChunkCorrupt);
    assert.throws(() => decodeChunk(chunkId(text), Buffer.from([7, 1, 2])), /unknown encoding 7/);
  });

  it("stores a chunk once, under its digest's prefix, and shares it with another store by hard link", () => {
    const dir = tempDir();
    try {
      const store = new ChunkStore(join(dir.path, "a"));
      const data = randomBytes(5000);
      const id = chunkId(data);
      assert.ok(store.put(id, data).stored > 0);
      assert.equal(store.put(id, data).stored, 0, "already there");
      assert.ok(existsSync(join(dir.path, "a", id.slice(0, 2), id)));
      const other = new ChunkStore(join(dir.path, "b"));
      other.adopt(store, id);
      assert.deepEqual(other.get(id), data);
      assert.throws(() => other.get(chunkId(Buffer.from("absent"))), /missing from the store/);
    } finally {
      dir.remove();
    }
  });
});

describe("snapshot retention", () => {
  const summary = (id: string, reason: SnapshotSummary["reason"], labels: Record<string, string> = {}): SnapshotSummary => ({
    snapshotId: id, timestamp: "", reason, appId: "a.b", appVersion: "1", stateDigest: "", sizeBytes: 0, addedBytes: 0, labels,
  });

  it("drops unlabelled autosaves first, then other supervisor snapshots, then manual and labelled ones, oldest first, never the newest", () => {
    const index = [summary("m1", "manual"), summary("a1", "autosave"), summary("r1", "before-restore"), summary("l1", "autosave", { keep: "1" }), summary("a2", "autosave"), summary("n", "autosave")];
    assert.deepEqual(snapshotsToPrune(index, 4).map((s) => s.snapshotId), ["a1", "a2"]);
    assert.deepEqual(snapshotsToPrune(index, 3).map((s) => s.snapshotId), ["a1", "a2", "r1"]);
    assert.deepEqual(snapshotsToPrune(index, 1).map((s) => s.snapshotId), ["a1", "a2", "r1", "m1", "l1"]);
    assert.deepEqual(snapshotsToPrune(index, 6), []);
  });
});

describe("snapshot state digest", () => {
  it("depends on paths, types, modes and content, never on times or inodes", () => {
    const file = { path: "f", type: "file" as const, mode: 0o644, mtimeNs: "1", size: 3, dev: "1", ino: "1", chunks: ["c1"] };
    const digest = stateDigest([file]);
    assert.equal(stateDigest([{ ...file, mtimeNs: "2", ino: "9", dev: "3" }]), digest);
    assert.notEqual(stateDigest([{ ...file, mode: 0o600 }]), digest);
    assert.notEqual(stateDigest([{ ...file, chunks: ["c2"] }]), digest);
    assert.notEqual(stateDigest([{ ...file, path: "g" }]), digest);
  });
});

describe("snapshot path order", () => {
  it("is UTF-8 byte order, component by component, also for characters beyond U+FFFF", () => {
    const paths = ["b", "a/z", "a-b", "a", "\u{1F600}", "\uFFFD", "\u00e9", "a/\u{1F600}/x", "a/\uFFFD", "A"];
    const byBytes = [...paths].sort((x, y) => Buffer.compare(Buffer.from(x.replaceAll("/", "\0")), Buffer.from(y.replaceAll("/", "\0"))));
    assert.deepEqual(
      sortedByPath(paths.map((path) => ({ path }))).map((p) => p.path),
      byBytes,
    );
    // A directory's entries come right after it, before a sibling whose name extends its own.
    assert.deepEqual(byBytes.slice(1, 6), ["a", "a/z", "a/\uFFFD", "a/\u{1F600}/x", "a-b"]);
  });

  it("is the order a walk gives, without sorting the whole tree", () => {
    const dir = tempDir();
    try {
      for (const path of ["b", "a/z", "a-b", "\u{1F600}", "\uFFFD", "\u00e9", "a/\u{1F600}/x", "a/\uFFFD", "A"]) {
        mkdirSync(join(dir.path, path, ".."), { recursive: true });
        writeFileSync(join(dir.path, path), path);
      }
      const walked = walkTreeSync(dir.path).entries.map((e) => e.path);
      assert.deepEqual(walked, sortedByPath(walked.map((path) => ({ path }))).map((e) => e.path));
      assert.deepEqual(walked.slice(0, 6), ["A", "a", "a/z", "a/\uFFFD", "a/\u{1F600}", "a/\u{1F600}/x"]);
    } finally {
      dir.remove();
    }
  });
});

describe("snapshot keeper on disk", () => {
  let dir: ReturnType<typeof tempDir>;
  let threads: ChunkThreads;
  const writers = { pause: () => Promise.resolve({ services: [], resume: () => Promise.resolve() }), dump: () => Promise.resolve(undefined) };
  const request = (stateRoot: string) => ({ stateRoot, projectId: "p", appId: "a.b", appVersion: "1", reason: "manual" as const, labels: {}, volumes: [], writers, maxSnapshots: 10 });

  beforeEach(() => {
    dir = tempDir();
    threads = new ChunkThreads(2);
    mkdirSync(join(dir.path, "current", "volumes", "v"), { recursive: true });
    writeFileSync(join(dir.path, "current", "volumes", "v", "big"), randomBytes(3 * 1024 * 1024));
  });
  afterEach(async () => {
    await threads.close();
    dir.remove();
  });

  it("commits a save's plan on the thread that holds it, and refuses once that thread has ended", async () => {
    const root = join(dir.path, "current");
    const repository = join(dir.path, "snapshots");
    const plan = { kind: "plan" as const, root, excluded: [], additions: [], substitutes: [], parent: undefined };
    const first = await threads.runOn(plan);
    assert.ok("ok" in first.result.outcomes[0]);
    const held = first.result.outcomes[0].ok;
    assert.deepEqual(held.toRead.map((f) => f.path), ["volumes/v/big"]);
    // Keep the other thread busy too: the commit must still go to the plan's thread, not the free one.
    const other = threads.run(plan);
    const document = { format: 1 as const, snapshotId: "00000000-0000-4000-8000-000000000001", projectId: "p", timestamp: new Date(0).toISOString(), reason: "manual" as const, appId: "a.b", appVersion: "1", addedBytes: 0, labels: {}, volumes: [], skipped: [] };
    const read = [{ path: "volumes/v/big", size: 3 * 1024 * 1024, chunks: ["c1", "c2"] }];
    const committed = await threads.run({ kind: "commit", plan: held.plan, repository, read, document, unlessDigest: undefined }, first.thread);
    await other;
    assert.ok("ok" in committed.outcomes[0], JSON.stringify(committed.outcomes[0]));
    const saved = await new SnapshotRepository(repository).readDocument(document.snapshotId);
    assert.deepEqual(saved.entries.map((e) => [e.path, e.chunks ?? null]), [["volumes", null], ["volumes/v", null], ["volumes/v/big", ["c1", "c2"]]]);
    const second = await threads.runOn(plan);
    await second.thread.worker.terminate();
    await assert.rejects(threads.run({ kind: "commit", plan: 1, repository, read, document, unlessDigest: undefined }, second.thread), /the chunk thread that held this job's state/);
  });

  it("puts back the old tree when a restore was interrupted between its renames, and removes what it left", async () => {
    renameSync(join(dir.path, "current"), join(dir.path, ".retired-123"));
    mkdirSync(join(dir.path, ".restore-abc"));
    const done = await recoverState(dir.path);
    assert.equal(done.length, 2);
    assert.ok(existsSync(join(dir.path, "current", "volumes", "v", "big")));
    assert.deepEqual(readdirSync(dir.path), ["current"]);
    assert.deepEqual(await recoverState(dir.path), [], "nothing left to do");
  });

  it("sweeps what a save that died left once the next save runs, keeping every referenced chunk", async () => {
    const keeper = new SnapshotKeeper(threads, () => new Date());
    const first = await keeper.save(request(dir.path));
    assert.ok(first);
    const chunks = join(dir.path, "snapshots", "chunks");
    const orphan = randomBytes(100);
    new ChunkStore(chunks).put(chunkId(orphan), orphan);
    const fan = chunkId(orphan).slice(0, 2);
    writeFileSync(join(chunks, fan, ".dead.tmp"), "half");
    writeFileSync(join(dir.path, "snapshots", "saving"), "1\n");
    await keeper.save(request(dir.path));
    const left = readdirSync(chunks, { recursive: true }).map(String);
    assert.ok(!left.some((n) => n.endsWith(chunkId(orphan)) || n.endsWith(".tmp")), "the dead save's chunk and temp file are gone");
    assert.ok(!existsSync(join(dir.path, "snapshots", "saving")));
    const document = await keeper.repository(dir.path).readDocument(first.snapshotId);
    for (const entry of document.entries) for (const id of entry.chunks ?? []) assert.ok(new ChunkStore(chunks).has(id));
  });

  it("fails a restore of a snapshot with a corrupt chunk, and removes what it wrote", async () => {
    const keeper = new SnapshotKeeper(threads, () => new Date());
    const saved = await keeper.save(request(dir.path));
    assert.ok(saved);
    const repository = keeper.repository(dir.path);
    const document = await repository.readDocument(saved.snapshotId);
    const id = document.entries.find((e) => e.type === "file")?.chunks?.[0] ?? "";
    const path = repository.chunks.pathOf(id);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1;
    writeFileSync(path, bytes);
    const target = join(dir.path, "restored");
    await assert.rejects(materialize(repository, saved.snapshotId, target, threads), MaterializeFailed);
    assert.ok(!existsSync(target));
  });
});
