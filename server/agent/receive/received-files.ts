import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { KeyedSerial } from "../../serial";
import { agentError, fsError } from "../reasons";
import { Batches, type Batch } from "./batches";
import { numberedName, parseMode, sanitisedName } from "./received-names";

/** What a sender says of a file it sends. */
export interface ReceiveRequest {
  readonly filename: string;
  readonly permissions?: string | undefined;
  readonly batchId?: string | undefined;
  readonly batchLast?: boolean | undefined;
  /** The length the sender declared, if it did. */
  readonly size?: bigint | number | undefined;
}

export interface ReceivedFile {
  readonly path: string;
  readonly size: number;
  /** On a batch's last file: the first paths the batch saved, and how many it saved. */
  readonly batch?: { readonly paths: readonly string[]; readonly files: number };
}

/** How many numbered names are tried before a name counts as used up. */
const MAX_NUMBERED = 10_000;

/**
 * Files sent from the host, saved under one directory (the guest's `~/Downloads/ghostd`). A file
 * is written under a hidden temporary name, synced, and only then linked to its own, so a name
 * never shows a partial file and never replaces one: a taken name becomes `name (1).ext`. A
 * sender's subdirectories are created fresh (a taken one becomes `dir (1)`), shared by the
 * files of one batch, and never entered through a symlink.
 */
export class ReceivedFiles {
  private readonly batches = new Batches();
  /** Placing files is one at a time, so two files never take the same free name. */
  private readonly placing = new KeyedSerial();

  constructor(private readonly dir: string) {}

  async receive(request: ReceiveRequest, chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<ReceivedFile> {
    const parts = sanitisedName(request.filename);
    const mode = parseMode(request.permissions, 0o644);
    await mkdir(this.dir, { recursive: true }).catch((err: unknown) => Promise.reject(fsError(err, this.dir)));
    const temp = join(this.dir, `.ghostd-receiving-${randomBytes(8).toString("hex")}`);
    try {
      const size = await writeTemp(temp, chunks, mode, signal);
      checkComplete(size, request.size, signal);
      const batch = this.batches.open(request.batchId);
      const path = await this.placing.run("", () => this.place(temp, parts, batch));
      Batches.record(batch, path);
      if (!request.batchLast) return { path, size };
      this.batches.close(request.batchId);
      return { path, size, batch: { paths: batch.paths, files: batch.files } };
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  /** Links the finished file to its free name, in its directory (created as needed). */
  private async place(temp: string, parts: readonly string[], batch: Batch): Promise<string> {
    const name = parts[parts.length - 1] ?? "";
    const dir = await this.directoryFor(parts.slice(0, -1), batch);
    for (let n = 0; n < MAX_NUMBERED; n++) {
      const path = join(dir, numberedName(name, n));
      if (await linkNew(temp, path)) return path;
    }
    throw agentError("already_exists", `${join(dir, name)} and its ${MAX_NUMBERED} numbered names are all taken`);
  }

  /**
   * The directory a file's leading components name: the top one is the batch's own (a fresh
   * directory, numbered when the name is taken), those below it are created or entered only
   * when they are real directories.
   */
  private async directoryFor(dirs: readonly string[], batch: Batch): Promise<string> {
    const [top, ...rest] = dirs;
    if (top === undefined) return this.dir;
    let dir = batch.dirs.get(top);
    if (!dir || !(await isRealDirectory(dir))) {
      dir = await this.freshDirectory(top);
      batch.dirs.set(top, dir);
    }
    for (const part of rest) {
      dir = join(dir, part);
      await mkdir(dir).catch((err: unknown) => ((err as NodeJS.ErrnoException).code === "EEXIST" ? undefined : Promise.reject(fsError(err, dir ?? ""))));
      if (!(await isRealDirectory(dir))) throw agentError("not_a_directory", `${dir} is a file or a symlink, so nothing is saved under it`);
    }
    return dir;
  }

  private async freshDirectory(name: string): Promise<string> {
    for (let n = 0; n < MAX_NUMBERED; n++) {
      const dir = join(this.dir, numberedName(name, n));
      const made = await mkdir(dir).then(
        () => true,
        (err: unknown) => ((err as NodeJS.ErrnoException).code === "EEXIST" ? false : Promise.reject(fsError(err, dir))),
      );
      if (made) return dir;
    }
    throw agentError("already_exists", `${join(this.dir, name)} and its ${MAX_NUMBERED} numbered names are all taken`);
  }
}

/** Streams the chunks into a new file, synced; a sender that goes away leaves nothing behind (the caller unlinks). */
async function writeTemp(temp: string, chunks: AsyncIterable<Uint8Array>, mode: number, signal: AbortSignal): Promise<number> {
  const handle: FileHandle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600).catch((err: unknown) =>
    Promise.reject(fsError(err, temp)),
  );
  let size = 0;
  try {
    for await (const chunk of chunks) {
      if (signal.aborted) throw senderGone();
      await handle.write(chunk);
      size += chunk.length;
    }
    await handle.chmod(mode);
    await handle.datasync();
    return size;
  } catch (err) {
    throw fsError(err, temp);
  } finally {
    await handle.close();
  }
}

const senderGone = (): Error => agentError("cancelled", "the sender went away before the file ended");

/**
 * Whether the bytes that came are the whole file. The sender's declared length says so for sure;
 * without one, a sender that went away shows as cancelled by now: gRPC delivers a cancelled
 * call's end of requests before its cancellation, which the sync that came between has let in.
 */
function checkComplete(size: number, declared: bigint | number | undefined, signal: AbortSignal): void {
  if (declared !== undefined && BigInt(size) !== BigInt(declared)) {
    throw agentError("invalid_argument", `the file was to be ${declared} bytes long and ${size} came; nothing was saved`);
  }
  if (signal.aborted) throw senderGone();
}

/** Links `from` to `to` unless `to` exists; false when it does. Where links are not supported, the name is reserved and renamed over. */
async function linkNew(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw fsError(err, to);
  }
  const reserved = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600).catch((err: unknown) =>
    (err as NodeJS.ErrnoException).code === "EEXIST" ? undefined : Promise.reject(fsError(err, to)),
  );
  if (!reserved) return false;
  await reserved.close();
  await rename(from, to).catch((err: unknown) => Promise.reject(fsError(err, to)));
  return true;
}

async function isRealDirectory(path: string): Promise<boolean> {
  const stat = await lstat(path).catch(() => undefined);
  return stat?.isDirectory() ?? false;
}
