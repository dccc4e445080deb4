import { execFile, spawn } from "node:child_process";
import { signalQuietly } from "../proc";
import type { App } from "../../generated/ghostd/agent/v1/agent";
import { dataDirs, execArguments, findEntry, type DesktopEntry } from "./desktop-entries";
import { agentError } from "./reasons";

const QUIT_GRACE_MS = 3000;

interface Running {
  readonly entry: DesktopEntry;
  readonly pid: number;
  readonly exited: Promise<void>;
}

export interface AppsContext {
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Apps on a Linux guest: a bundle id is an XDG desktop file id; `launch` runs the entry's Exec
 * line in a process group of its own and tracks it; the frontmost app is the one last launched or
 * activated (and its window is raised with xdotool when there is a display).
 */
export class Apps {
  private readonly running = new Map<string, Running>();
  private order: string[] = [];

  constructor(private readonly context: AppsContext) {}

  list(): App[] {
    const front = this.order[0];
    return [...this.running.values()].map((r) => ({ name: r.entry.name, bundleId: r.entry.id, pid: r.pid, isActive: r.entry.id === front }));
  }

  frontmost(): string {
    const front = this.order[0];
    if (front === undefined) throw agentError("no_frontmost_app", "no app is running in front");
    return front;
  }

  async launch(bundleId: string, files: readonly string[] = []): Promise<void> {
    const entry = this.entry(bundleId);
    const [file, ...args] = execArguments(entry, files);
    if (!file) throw agentError("launch_failed", `${bundleId}: its Exec line is empty`);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.context.env)) if (value !== undefined) env[key] = value;
    const child = spawn(file, args, { cwd: this.context.home, env, detached: true, stdio: "ignore" });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) => reject(agentError("launch_failed", `${bundleId}: cannot run ${file}: ${err.message}`)));
    });
    child.unref();
    const pid = child.pid ?? 0;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const running: Running = { entry, pid, exited };
    this.running.set(bundleId, running);
    void exited.then(() => {
      if (this.running.get(bundleId) === running) this.forget(bundleId);
    });
    this.toFront(bundleId);
  }

  /** Brings a running app to the front, launching it first when it is not running. */
  async activate(bundleId: string): Promise<void> {
    this.entry(bundleId);
    const running = this.running.get(bundleId);
    if (!running) return this.launch(bundleId);
    this.toFront(bundleId);
    const display = this.context.env.DISPLAY;
    if (display) {
      // Best effort: an app may have no window yet, or xdotool may be missing.
      await new Promise<void>((resolve) => {
        execFile("xdotool", ["search", "--pid", String(running.pid), "windowactivate"], { timeout: 2000, env: { ...this.context.env, DISPLAY: display } }, () => resolve());
      });
    }
  }

  /** Quits gracefully: SIGTERM to the app's group, SIGKILL after a grace period. Idempotent. */
  async quit(bundleId: string): Promise<void> {
    this.entry(bundleId);
    const running = this.running.get(bundleId);
    if (!running) return;
    signalQuietly(-running.pid, "SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const graceOver = await Promise.race([running.exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), QUIT_GRACE_MS)))]);
    clearTimeout(timer);
    if (graceOver) {
      signalQuietly(-running.pid, "SIGKILL");
      await running.exited;
    }
    this.forget(bundleId);
  }

  async quitAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.quit(id)));
  }

  private entry(bundleId: string): DesktopEntry {
    if (!/^[A-Za-z0-9._-]+$/.test(bundleId)) throw agentError("invalid_argument", `"${bundleId}" is not a bundle id (a desktop file id)`);
    const entry = findEntry(bundleId, dataDirs(this.context.env, this.context.home));
    if (!entry) throw agentError("app_not_found", `no application with bundle id ${bundleId} (no ${bundleId}.desktop in the XDG data directories)`);
    return entry;
  }

  private toFront(bundleId: string): void {
    this.order = [bundleId, ...this.order.filter((id) => id !== bundleId)];
  }

  private forget(bundleId: string): void {
    this.running.delete(bundleId);
    this.order = this.order.filter((id) => id !== bundleId);
  }
}
