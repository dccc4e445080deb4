import { entryPath, kindProblem, nameProblem, type EntryKind, type PackageLimits } from "./entry-rules";
import { SIGNATURES } from "./content-list";

/** An entry the format refuses: its name (when it has a usable one) and the rule it broke. */
export class PackageRefused extends Error {
  constructor(
    readonly entry: string | undefined,
    readonly rule: string,
  ) {
    super(entry === undefined ? rule : `${JSON.stringify(entry)}: ${rule}`);
    this.name = "PackageRefused";
  }
}

/** What an archive entry says of itself, as a tar reader hands it over. */
export interface EntryHeader {
  readonly name: string;
  readonly type: string | null;
  readonly size?: number;
  readonly mode?: number;
}

/** An entry the ledger let in: where it goes and what it is. */
export interface AdmittedEntry {
  readonly path: string;
  readonly kind: "file" | "directory";
  readonly size: number;
  readonly executable: boolean;
}

/** The two files a signed package carries, and nothing else under signatures/. */
export const SIGNATURE_FILES = { publicKey: `${SIGNATURES}publisher.pub`, signature: `${SIGNATURES}package.sig` } as const;

/** A signature file is a key or one line of base64: far less than this. */
export const MAX_SIGNATURE_FILE_BYTES = 64 * 1024;

const TAR_KINDS: Readonly<Record<string, EntryKind>> = {
  file: "file",
  directory: "directory",
  symlink: "symlink",
  link: "link",
  "character-device": "character-device",
  "block-device": "block-device",
  fifo: "fifo",
};

/**
 * Every rule of the format's container that one entry's header can break, checked in the order
 * an archive is read and before any byte of the entry is written: counts, names, types,
 * duplicates (a path given twice, or a file standing where a later entry needs a directory),
 * and sizes against the limits.
 */
export class EntryLedger {
  private entries = 0;
  private unpacked = 0;
  private readonly files = new Set<string>();
  /** Directories, given as entries or implied by a deeper path. */
  private readonly directories = new Set<string>();
  private readonly explicitDirectories = new Set<string>();

  constructor(private readonly limits: PackageLimits) {}

  admit(header: EntryHeader): AdmittedEntry {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) throw new PackageRefused(header.name, `a package has at most ${this.limits.maxEntries} entries`);
    const problem = nameProblem(header.name) ?? (header.name.includes("\uFFFD") ? "a name is valid UTF-8" : undefined);
    if (problem) throw new PackageRefused(header.name, problem);
    const path = entryPath(header.name);
    const kind = TAR_KINDS[header.type ?? ""] ?? "other";
    const refusedKind = kindProblem(kind);
    if (refusedKind) throw new PackageRefused(path, refusedKind);
    this.placeUnderDirectories(path);
    if (kind === "directory") return this.admitDirectory(path);
    return this.admitFile(path, header);
  }

  private admitDirectory(path: string): AdmittedEntry {
    if (this.explicitDirectories.has(path) || this.files.has(path)) throw new PackageRefused(path, "at most one entry per path");
    this.explicitDirectories.add(path);
    this.directories.add(path);
    return { path, kind: "directory", size: 0, executable: true };
  }

  private admitFile(path: string, header: EntryHeader): AdmittedEntry {
    if (this.files.has(path) || this.explicitDirectories.has(path)) throw new PackageRefused(path, "at most one entry per path");
    if (this.directories.has(path)) throw new PackageRefused(path, "a file cannot stand where an earlier entry put a directory");
    if (path.startsWith(SIGNATURES)) signatureFileRule(path, header.size ?? 0);
    const size = header.size ?? 0;
    if (size > this.limits.maxFileBytes) throw new PackageRefused(path, `a file is at most ${this.limits.maxFileBytes} bytes (this one is ${size})`);
    if (this.unpacked + size > this.limits.maxUnpackedBytes) throw new PackageRefused(path, `a package unpacks to at most ${this.limits.maxUnpackedBytes} bytes`);
    this.unpacked += size;
    this.files.add(path);
    return { path, kind: "file", size, executable: ((header.mode ?? 0) & 0o111) !== 0 };
  }

  /** Each ancestor of `path` becomes a directory; one that an earlier entry made a file cannot. */
  private placeUnderDirectories(path: string): void {
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i).join("/");
      if (this.files.has(ancestor)) throw new PackageRefused(path, `it lies under ${JSON.stringify(ancestor)}, which an earlier entry made a file`);
      this.directories.add(ancestor);
    }
  }
}

/** Under signatures/ only the two signature files, each small: anything else there would be outside what the signature covers. */
function signatureFileRule(path: string, size: number): void {
  if (path !== SIGNATURE_FILES.publicKey && path !== SIGNATURE_FILES.signature) {
    throw new PackageRefused(path, `signatures/ holds only publisher.pub and package.sig: other files there are covered by no signature`);
  }
  if (size > MAX_SIGNATURE_FILE_BYTES) throw new PackageRefused(path, `a signature file is at most ${MAX_SIGNATURE_FILE_BYTES} bytes`);
}
