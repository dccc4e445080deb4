import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { waitFor } from "./wait";

const execFileAsync = promisify(execFile);

let servers = 0;

/**
 * A tmux server of its own (its own -L socket, no user config) holding one detached session, for
 * driving a program as a person at a real terminal would: keys in, the pane's text out. `kill()`
 * ends the server, and with it whatever still runs in the pane.
 */
export class TmuxSession {
  /** The server's socket file, which kill-server leaves behind. */
  private socketPath = "";

  private constructor(
    private readonly socket: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A `cols` x `rows` session whose pane runs bash with no rc files and the prompt `pane$ `. */
  static async start(cols: number, rows: number, env: NodeJS.ProcessEnv): Promise<TmuxSession> {
    const session = new TmuxSession(`ghostd-test-${process.pid}-${++servers}`, env);
    await session.run("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", String(cols), "-y", String(rows), "env PS1='pane$ ' bash --norc --noprofile");
    session.socketPath = (await session.run("display-message", "-p", "#{socket_path}")).trim();
    return session;
  }

  async run(...args: string[]): Promise<string> {
    return (await execFileAsync("tmux", ["-L", this.socket, ...args], { env: this.env })).stdout;
  }

  /** Types `text` as it is, then presses Enter. */
  async type(text: string): Promise<void> {
    await this.run("send-keys", "-t", "main", "-l", text);
    await this.run("send-keys", "-t", "main", "Enter");
  }

  /** Presses keys by tmux's names (`C-\`, `Enter`). */
  async keys(...names: string[]): Promise<void> {
    await this.run("send-keys", "-t", "main", ...names);
  }

  /** The pane's text; with `styled`, its colours and attributes as SGR escapes. */
  capture(styled = false): Promise<string> {
    return this.run("capture-pane", "-p", "-t", "main", ...(styled ? ["-e"] : []));
  }

  /** Waits until the pane's text matches; answers the match. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    let last = "";
    return waitFor(
      `the tmux pane to match ${pattern}`,
      async () => {
        last = await this.capture();
        return pattern.exec(last) ?? undefined;
      },
      timeoutMs,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; the pane shows:\n${last}`, { cause: err });
    });
  }

  async resize(cols: number, rows: number): Promise<void> {
    await this.run("resize-window", "-t", "main", "-x", String(cols), "-y", String(rows));
  }

  async kill(): Promise<void> {
    await this.run("kill-server").catch(() => undefined);
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }
}
