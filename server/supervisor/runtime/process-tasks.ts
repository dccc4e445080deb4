import { mkdir, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A task the process runtime started, as it keeps it. */
export interface TaskRecord {
  readonly id: string;
  readonly service: string | undefined;
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TASK_FILE = /^\d+@\d+\.json$/;

/**
 * The process runtime's own book of the tasks it started, by namespace, as containerd's shims
 * keep a state directory: one small file per task under `<dir>/<namespace>/`, written before the
 * start returns and removed once the task is gone. It outlives the daemon, so the next one lists
 * what a killed predecessor left without trusting the registry; without a directory (tests,
 * benchmarks) it is kept in memory for this daemon only.
 */
export class TaskRecords {
  private readonly memory = new Map<string, Map<string, TaskRecord>>();

  constructor(private readonly dir: string | undefined) {}

  async add(namespace: string, record: TaskRecord): Promise<void> {
    const place = this.place(namespace);
    if (place === undefined) {
      const records = this.memory.get(namespace) ?? new Map<string, TaskRecord>();
      this.memory.set(namespace, records.set(record.id, record));
      return;
    }
    await mkdir(place, { recursive: true, mode: 0o700 });
    await writeFile(join(place, fileOf(record.id)), JSON.stringify({ service: record.service }), { mode: 0o600 });
  }

  async delete(namespace: string, id: string): Promise<void> {
    const place = this.place(namespace);
    if (place === undefined) this.memory.get(namespace)?.delete(id);
    else await unlink(join(place, fileOf(id))).catch(() => undefined);
  }

  async list(namespace: string): Promise<TaskRecord[]> {
    const place = this.place(namespace);
    if (place === undefined) return [...(this.memory.get(namespace)?.values() ?? [])];
    const files = await readdir(place).catch(() => []);
    // Only files of the runtime's own naming: anything else there is not a task of it.
    return Promise.all(files.filter((f) => TASK_FILE.test(f)).map(async (file) => ({ id: file.slice(0, -".json".length), service: await serviceIn(join(place, file)) })));
  }

  /** The namespace's directory; a name that could leave `dir` is refused, never joined. */
  private place(namespace: string): string | undefined {
    if (!NAMESPACE.test(namespace)) throw new Error(`not a namespace: ${JSON.stringify(namespace)}`);
    return this.dir === undefined ? undefined : join(this.dir, namespace);
  }
}

function fileOf(id: string): string {
  if (!/^\d+@\d+$/.test(id)) throw new Error(`not a process task id: ${JSON.stringify(id)}`);
  return `${id}.json`;
}

/** The service a record names; a record cut short by a crash still names its task. */
async function serviceIn(path: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { service?: unknown };
    return typeof parsed.service === "string" ? parsed.service : undefined;
  } catch {
    return undefined;
  }
}
