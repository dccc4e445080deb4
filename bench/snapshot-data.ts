import { createCipheriv, createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

// The data the snapshot bench saves: made from a seed, so every run (and both tools in a run)
// sees the very same bytes. At 1024 MiB: 400 large files of 2.0 to 2.4 MiB (4 in 5 pseudo-random,
// which no compressor shrinks; 1 in 5 structured log records, which compress well), 20,000
// text files of 1 to 8 KiB in three levels of directories, and duplicates: 20 large files and 300
// text files copied under other names. Other sizes scale every count.

const MiB = 1024 * 1024;
const FULL_SIZE_MiB = 1024;
const LARGE = 400;
const SMALL = 20_000;
const LARGE_COPIES = 20;
const SMALL_COPIES = 300;
/** One large file in this many holds records (compressible); the others are pseudo-random. */
const RECORDS_EVERY = 5;
/** The change between the full and the incremental save: this share of the large files, one region each. */
const CHANGED_SHARE = 0.01;
const REGION = 64 * 1024;
const REGION_AT = MiB;

export interface LargeFile {
  readonly path: string;
  readonly size: number;
  readonly records: boolean;
}

export interface Composition {
  readonly seed: string;
  readonly large: readonly LargeFile[];
  readonly smallCount: number;
  readonly smallBytes: number;
  readonly largeCopies: number;
  readonly largeCopyBytes: number;
  readonly smallCopies: number;
  readonly smallCopyBytes: number;
  readonly directories: number;
  /** The large files the change rewrites a region of, relative to the data directory. */
  readonly changed: readonly LargeFile[];
}

/** A stream of pseudo-random bytes from a name: AES-256-CTR over zeros, keyed by SHA-256 of the name. */
function keystream(name: string, length: number): Buffer {
  const key = createHash("sha256").update(name).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** A small deterministic generator (mulberry32) for choices and numbers in text. */
function numbers(name: string): () => number {
  let state = createHash("sha256").update(name).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SITES = ["berlin", "lisbon", "oslo", "turin", "ghent", "porto", "lyon", "bergen"];
const LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];

/** `length` bytes of log records, one a line, their fields drawn from `name`'s numbers. */
export function records(name: string, length: number): Buffer {
  const next = numbers(name);
  const lines: string[] = [];
  let size = 0;
  let ms = 1_714_000_000_000 + Math.floor(next() * 1e9);
  for (let seq = 0; size < length; seq++) {
    ms += Math.floor(next() * 5000);
    const line = `${new Date(ms).toISOString()} site=${SITES[Math.floor(next() * SITES.length)]}-${String(Math.floor(next() * 20)).padStart(2, "0")} sensor=s-${String(Math.floor(next() * 500)).padStart(4, "0")} level=${LEVELS[Math.floor(next() * LEVELS.length)]} temp=${(next() * 40 - 5).toFixed(2)} humidity=${(next() * 100).toFixed(1)} seq=${String(seq).padStart(10, "0")} status=${next() < 0.97 ? "ok" : "retry"}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join("")).subarray(0, length);
}

/** A vocabulary of made-up words, the same for every seed's text. */
const WORDS = (() => {
  const next = numbers("ghostd bench words");
  const letters = "etaoinshrdlucmfwypvbgkjqxz";
  return Array.from({ length: 600 }, () => Array.from({ length: 2 + Math.floor(next() * 8) }, () => letters[Math.floor(Math.pow(next(), 1.6) * letters.length)]).join(""));
})();

/** `length` bytes of prose-like text: sentences of the vocabulary, lines of about 70 characters. */
export function text(name: string, length: number): Buffer {
  const next = numbers(name);
  const parts: string[] = [];
  let size = 0;
  let column = 0;
  while (size < length) {
    const sentence = Array.from({ length: 4 + Math.floor(next() * 14) }, () => WORDS[Math.floor(Math.pow(next(), 2) * WORDS.length)]).join(" ");
    const piece = `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.${column > 70 ? "\n" : " "}`;
    column = column > 70 ? 0 : column + piece.length;
    parts.push(piece);
    size += piece.length;
  }
  return Buffer.from(parts.join("")).subarray(0, length);
}

function put(root: string, path: string, data: Buffer): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
}

function largeContent(seed: string, file: LargeFile): Buffer {
  return file.records ? records(`${seed} ${file.path}`, file.size) : keystream(`${seed} ${file.path}`, file.size);
}

const scaled = (count: number, sizeMiB: number): number => Math.max(1, Math.round((count * sizeMiB) / FULL_SIZE_MiB));

function largeFiles(seed: string, count: number): LargeFile[] {
  const next = numbers(`${seed} large sizes`);
  return Array.from({ length: count }, (_, i) => {
    const records = i % RECORDS_EVERY === RECORDS_EVERY - 1;
    const path = `large/group-${i % 8}/file-${String(i).padStart(4, "0")}.${records ? "log" : "bin"}`;
    return { path, size: Math.round(2.0 * MiB + next() * 0.4 * MiB), records };
  });
}

/** Spread over the large files, the first a records file and (stepping one index further each) the others not, so the change touches both kinds. */
function changedFiles(large: readonly LargeFile[]): LargeFile[] {
  const count = Math.max(1, Math.round(large.length * CHANGED_SHARE));
  const picked = Array.from({ length: count }, (_, k) => large[Math.min(large.length - 1, RECORDS_EVERY - 1 + k + Math.floor((k * large.length) / count))]);
  return picked.filter((f): f is LargeFile => f !== undefined);
}

function smallPath(i: number): string {
  return `text/section-${String(i % 20).padStart(2, "0")}/part-${Math.floor(i / 20) % 10}/chapter-${Math.floor(i / 200) % 5}/note-${String(i).padStart(5, "0")}.txt`;
}

/** Writes the data under `root` (which it creates) and says what it wrote. */
export function generate(root: string, sizeMiB: number, seed: string): Composition {
  const large = largeFiles(seed, scaled(LARGE, sizeMiB));
  const directories = new Set<string>();
  for (const file of large) put(root, file.path, largeContent(seed, file));
  const largeCopies = scaled(LARGE_COPIES, sizeMiB);
  let largeCopyBytes = 0;
  for (let k = 0; k < largeCopies; k++) {
    const source = large[Math.floor((k * large.length) / largeCopies)];
    if (!source) continue;
    put(root, `copies/large/copy-${k}-${source.path.split("/").pop() ?? ""}`, readFileSync(join(root, source.path)));
    largeCopyBytes += source.size;
  }
  const smallCount = scaled(SMALL, sizeMiB);
  const sizes = numbers(`${seed} small sizes`);
  let smallBytes = 0;
  for (let i = 0; i < smallCount; i++) {
    const size = 1024 + Math.floor(sizes() * 7 * 1024);
    put(root, smallPath(i), text(`${seed} note ${i}`, size));
    directories.add(dirname(smallPath(i)));
    smallBytes += size;
  }
  const smallCopies = scaled(SMALL_COPIES, sizeMiB);
  let smallCopyBytes = 0;
  for (let k = 0; k < smallCopies; k++) {
    const data = readFileSync(join(root, smallPath(Math.floor((k * smallCount) / smallCopies))));
    put(root, `copies/text/batch-${k % 10}/copy-${String(k).padStart(4, "0")}.txt`, data);
    smallCopyBytes += data.length;
  }
  return { seed, large, smallCount, smallBytes, largeCopies, largeCopyBytes, smallCopies, smallCopyBytes, directories: directories.size, changed: changedFiles(large) };
}

/** The same change every time: a region inside each changed file rewritten in place, with new bytes of its kind. */
export function applyChange(root: string, composition: Composition): void {
  for (const file of composition.changed) {
    const name = `${composition.seed} change ${file.path}`;
    const region = file.records ? records(name, REGION) : keystream(name, REGION);
    const fd = openSync(join(root, file.path), "r+");
    try {
      writeSync(fd, region, 0, region.length, Math.min(REGION_AT, file.size - REGION));
    } finally {
      closeSync(fd);
    }
  }
}

export function sha256Of(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** What the output says of the data, line by line. */
export function describe(c: Composition): string[] {
  const largeBytes = c.large.reduce((t, f) => t + f.size, 0);
  const recordFiles = c.large.filter((f) => f.records);
  const total = largeBytes + c.largeCopyBytes + c.smallBytes + c.smallCopyBytes;
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
  return [
    `data (seed "${c.seed}"): ${c.large.length + c.largeCopies + c.smallCount + c.smallCopies} files, ${mib(total)} (${total} bytes)`,
    `  ${c.large.length} large files of 2.0-2.4 MiB, ${mib(largeBytes)}: ${c.large.length - recordFiles.length} pseudo-random (AES-CTR keystream, incompressible), ${recordFiles.length} structured log records (compressible), ${mib(recordFiles.reduce((t, f) => t + f.size, 0))}`,
    `  ${c.smallCount} text files of 1-8 KiB, ${mib(c.smallBytes)}, in ${c.directories} directories three levels deep`,
    `  duplicates: ${c.largeCopies} large files copied (${mib(c.largeCopyBytes)}), ${c.smallCopies} text files copied (${mib(c.smallCopyBytes)})`,
    `  change before the incremental save: ${c.changed.length} of ${c.large.length} large files (${c.changed.filter((f) => f.records).length} of them records), ${REGION / 1024} KiB at 1 MiB rewritten in place in each`,
  ];
}
