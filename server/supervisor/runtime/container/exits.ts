import type Docker from "dockerode";
import type { Exit } from "../driver";

/** How long after the engine's event stream broke (an engine restarting) it is asked again. */
const RESUBSCRIBE_MS = 1000;
/** The first check of a watched container after the one at once, and the longest between checks. */
const FIRST_RECHECK_MS = 500;
const RECHECK_MAX_MS = 10_000;

interface EngineEvent {
  readonly Type?: string;
  readonly Action?: string;
  readonly id?: string;
  readonly Actor?: { readonly ID?: string };
}

/**
 * The exits of the containers this daemon runs, told by one stream of the engine's events while
 * any is watched, rather than by a `wait` call per container: Podman before 4.5 answers the
 * Docker-compatible wait by polling in a busy loop (podman issue 18150), about a core for each
 * running container. A `die` event, or an inspect that finds it ended, settles a watch; an
 * engine that goes away and comes back (its containers run on) is asked again.
 */
export class ExitWatch {
  private readonly waiting = new Map<string, ((exit: Exit) => void)[]>();
  private stream: NodeJS.ReadableStream | undefined;
  private subscribing: Promise<void> | undefined;
  private retrying = false;

  constructor(private readonly docker: Docker) {}

  /** Resolves once the container has ended, or is gone (then as killed). */
  async exited(id: string): Promise<Exit> {
    const exit = new Promise<Exit>((resolve) => this.waiting.set(id, [...(this.waiting.get(id) ?? []), resolve]));
    await this.subscribe().catch(() => this.resubscribeLater());
    // It may have ended before the stream was there to tell it.
    await this.check(id);
    this.checkLater(id, FIRST_RECHECK_MS);
    return exit;
  }

  /**
   * Asks again now and then while the container is watched: an engine may answer the events call
   * before it tails its events (Podman), and a `die` in between is never sent. A container that
   * exited then is found at the next check, within seconds, at the cost of one inspect per
   * container every RECHECK_MAX_MS while it runs.
   */
  private checkLater(id: string, delay: number): void {
    setTimeout(() => {
      if (!this.waiting.has(id)) return;
      void this.check(id).then(() => this.checkLater(id, Math.min(delay * 2, RECHECK_MAX_MS)));
    }, delay).unref();
  }

  private subscribe(): Promise<void> {
    if (this.stream) return Promise.resolve();
    this.subscribing ??= this.open().finally(() => (this.subscribing = undefined));
    return this.subscribing;
  }

  private async open(): Promise<void> {
    // Podman 4.3 ignores an `event` filter, so `die` is picked here.
    const stream = await this.docker.getEvents({ filters: { type: ["container"] } });
    this.stream = stream;
    let pending = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (pending + chunk.toString("utf8")).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) this.onEvent(line);
    });
    const ended = (): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.waiting.size > 0) this.resubscribeLater();
    };
    stream.once("end", ended);
    stream.once("close", ended);
    stream.once("error", ended);
    if (this.waiting.size === 0) this.close();
  }

  private onEvent(line: string): void {
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      return;
    }
    const id = event.Actor?.ID ?? event.id;
    if (event.Type === "container" && event.Action === "die" && id !== undefined && this.waiting.has(id)) void this.check(id);
  }

  /** Settles the container's watches if it has ended; an engine that does not answer leaves them for the next stream. */
  private async check(id: string): Promise<void> {
    let exit: Exit | undefined;
    try {
      const { State } = await this.docker.getContainer(id).inspect();
      if (!State.Running && !State.Paused) exit = { code: State.ExitCode, signal: null };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) exit = { code: null, signal: "SIGKILL" };
    }
    if (exit === undefined) return;
    const waiters = this.waiting.get(id) ?? [];
    this.waiting.delete(id);
    for (const resolve of waiters) resolve(exit);
    if (this.waiting.size === 0) this.close();
  }

  /** Nothing watched: the stream goes, so an idle daemon holds no request open. */
  private close(): void {
    const stream = this.stream;
    this.stream = undefined;
    // An HTTP response, which dockerode types as any readable stream.
    (stream as { destroy?: () => void } | undefined)?.destroy?.();
  }

  private resubscribeLater(): void {
    if (this.retrying) return;
    this.retrying = true;
    setTimeout(() => {
      this.retrying = false;
      if (this.waiting.size === 0) return;
      this.subscribe().then(
        () => Promise.all([...this.waiting.keys()].map((id) => this.check(id))),
        () => this.resubscribeLater(),
      );
    }, RESUBSCRIBE_MS).unref();
  }
}
