import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

let written = 0;

/**
 * Replaces `path` with `content` so a reader sees the old file or the new one, never a part, and
 * a crash leaves one of the two: written to a hidden temp file of its own beside it (two writers
 * never share one), synced, then renamed over.
 */
export async function replaceFile(path: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.ghostd-${process.pid}-${++written}`);
  try {
    const file = await open(temp, "wx", mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
