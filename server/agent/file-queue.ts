import { readFileSync } from "node:fs";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { guestPath } from "./paths";
import { agentError, fsError } from "./reasons";

/**
 * The guest's outgoing files: what `ghostctl share` added, for the host to fetch. Kept in a JSON
 * file, written atomically, so the queue survives an agent restart.
 */
export class FileQueue {
  private files: string[];

  constructor(private readonly file: string) {
    this.files = FileQueue.load(file);
  }

  list(): string[] {
    return [...this.files];
  }

  /** Adds existing paths (each once, in order) and returns the queue. */
  async add(paths: readonly string[], home: string): Promise<string[]> {
    if (paths.length === 0) throw agentError("invalid_argument", "paths is empty");
    const resolved: string[] = [];
    for (const path of paths) {
      const full = guestPath(path, home);
      await stat(full).catch((err: unknown) => Promise.reject(fsError(err, full)));
      resolved.push(full);
    }
    const next = [...this.files];
    for (const path of resolved) if (!next.includes(path)) next.push(path);
    await this.save(next);
    return this.list();
  }

  async clear(): Promise<void> {
    await this.save([]);
  }

  private async save(files: string[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify({ files }, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.file);
    this.files = files;
  }

  private static load(file: string): string[] {
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as { files?: unknown };
      return Array.isArray(parsed.files) ? parsed.files.filter((f): f is string => typeof f === "string") : [];
    } catch {
      return [];
    }
  }
}
