import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { gzipSync } from "node:zlib";
import { pack, type Header } from "tar-stream";

/** One archive entry as a test wants it, hostile or not. */
export interface RawEntry {
  readonly name: string;
  readonly type?: Header["type"];
  readonly content?: string | Buffer;
  readonly linkname?: string;
  readonly mode?: number;
}

/** A minimal valid manifest: one native service running `sh -c script`. */
export function nativeManifest(id: string, version = "1.0.0", script = "sleep 30", extra = ""): string {
  return `kind: vibe.app/v1\nid: ${id}\nname: Test ${id}\nversion: ${version}\nruntime: {mode: native}\nservices:\n  - name: main\n    command: [sh, -c, ${JSON.stringify(script)}]\n${extra}`;
}

/** Regular files, path to content, as entries in the order given. */
export function fileEntries(files: Record<string, string | Buffer>): RawEntry[] {
  return Object.entries(files).map(([name, content]) => ({ name, content }));
}

/** A tar stream of the entries, through tar-stream's packer, as given (names are not checked). */
export async function tarBytes(entries: readonly RawEntry[]): Promise<Buffer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  packer.on("data", (chunk: unknown) => {
    if (Buffer.isBuffer(chunk)) chunks.push(chunk);
  });
  const ended = new Promise<void>((resolve, reject) => {
    packer.on("end", () => resolve());
    packer.on("error", reject);
  });
  for (const entry of entries) {
    const type = entry.type ?? "file";
    const header = { name: entry.name, type, mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644), mtime: new Date(0), ...(entry.linkname ? { linkname: entry.linkname } : {}) };
    await new Promise<void>((resolve, reject) => packer.entry(header, type === "file" ? (entry.content ?? "") : "", (err) => (err ? reject(err) : resolve())));
  }
  packer.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** A .vibeapp's bytes: the entries, tarred and gzipped. */
export async function archiveBytes(entries: readonly RawEntry[]): Promise<Buffer> {
  return gzipSync(await tarBytes(entries));
}

/** A ustar header for a file declaring `size` bytes, for archives that lie about what follows. */
export function fileHeader(name: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  const field = (offset: number, length: number, text: string): void => void block.write(text, offset, length, "latin1");
  field(0, 100, name);
  field(100, 8, "0000644\0");
  field(108, 8, "0000000\0");
  field(116, 8, "0000000\0");
  field(124, 12, `${size.toString(8).padStart(11, "0")}\0`);
  field(136, 12, "00000000000\0");
  field(156, 1, "0");
  field(257, 8, "ustar\u000000");
  block.fill(" ", 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** The format's content list, written from vibeapp-format.md for the tests' signatures. */
export function contentListOf(files: Record<string, string | Buffer>): string {
  return Object.entries(files)
    .filter(([path]) => !path.startsWith("signatures/"))
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([path, content]) => `sha256:${createHash("sha256").update(content).digest("hex")}  ${Buffer.byteLength(content)}  ${path}\n`)
    .join("");
}

export interface Publisher {
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

export function newPublisher(): Publisher {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** The files with the two signature files added: the publisher's key and its signature of the content list. */
export function signed(files: Record<string, string | Buffer>, publisher: Publisher): Record<string, string | Buffer> {
  const signature = sign(null, Buffer.from(contentListOf(files)), publisher.privateKey).toString("base64");
  return { ...files, "signatures/publisher.pub": publisher.publicPem, "signatures/package.sig": `${signature}\n` };
}

export function digestOf(files: Record<string, string | Buffer>): string {
  return `sha256:${createHash("sha256").update(contentListOf(files)).digest("hex")}`;
}
