import { readFileSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { replaceFile } from "../atomic-file";
import { KeyedSerial } from "../serial";
import { guestPath } from "./paths";
import { agentError, fsError } from "./reasons";

/**
 * The guest's outgoing files: what `ghostctl share` added, for the host to fetch. Kept in a JSON
 * file, written atomically, so the queue survives an agent restart.
 */
export class FileQueue {
  private files: string[];
  /** Changes one at a time: each reads the queue as the one before it left it. */
  private readonly changes = new KeyedSerial();

  constructor(
    private readonly file: string,
    /** Hears the queue after each change. */
    private readonly onChange: (files: readonly string[]) => void = () => undefined,
  ) {
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
    return this.change((files) => [...files, ...resolved.filter((path, i) => !files.includes(path) && resolved.indexOf(path) === i)]);
  }

  async clear(): Promise<void> {
    await this.change(() => []);
  }

  /** Saves what `next` makes of the queue, after every change asked for before it; returns the queue. */
  private change(next: (files: readonly string[]) => string[]): Promise<string[]> {
    return this.changes.run("queue", async () => {
      const files = next(this.files);
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      await replaceFile(this.file, `${JSON.stringify({ files }, null, 2)}\n`);
      this.files = files;
      this.onChange(this.list());
      return this.list();
    });
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
