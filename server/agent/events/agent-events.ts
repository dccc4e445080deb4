import { eventStream, flatten } from "../../event-stream";
import { agentError } from "../reasons";

/** What the event stream tells, as it happens. */
export type AgentEvent =
  | { readonly files: readonly string[] }
  | { readonly url: string }
  | { readonly ports: { readonly ports: readonly number[]; readonly opened: readonly number[]; readonly closed: readonly number[] } }
  | { readonly app: { readonly bundleId: string } }
  | { readonly log: string };

/** What is watched by polling while anyone listens: the listening ports and the frontmost app. */
export interface PolledState {
  ports(): Promise<number[]>;
  frontmost(): string;
}

const POLL_MS = 250;
/** Events queued for one listener that stopped reading before it is let go. */
const MAX_QUEUED = 10_000;

/**
 * The agent's event hub: the file queue and the URL queue publish as they change; ports and the
 * frontmost app are polled, only while someone listens, often enough to be told within a second.
 */
export class AgentEvents {
  private readonly listeners = new Set<(event: AgentEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private last: { ports: number[]; app: string } | undefined;
  /** The first poll since polling started: what later polls compare with. */
  private baseline: Promise<void> = Promise.resolve();

  constructor(private readonly polled: PolledState) {}

  publish(event: AgentEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Events from now on, until `signal` aborts; resolves once the polled state is known, so a change right after is told. */
  async open(signal: AbortSignal): Promise<AsyncIterable<AgentEvent>> {
    // Subscribed now, not at the first read: nothing published meanwhile is missed.
    const batches = this.batches(signal)[Symbol.asyncIterator]();
    await this.baseline;
    return flatten({ [Symbol.asyncIterator]: () => batches });
  }

  private batches(signal: AbortSignal): AsyncIterable<AgentEvent[]> {
    return eventStream<AgentEvent>(
      signal,
      (sink) => {
        const listener = (event: AgentEvent): void => void sink.push(event);
        this.listeners.add(listener);
        this.startPolling();
        return () => {
          this.listeners.delete(listener);
          if (this.listeners.size === 0) this.stopPolling();
        };
      },
      { max: MAX_QUEUED, overflow: () => agentError("reader_too_slow", `the client fell ${MAX_QUEUED} events behind and was let go`) },
    );
  }

  close(): void {
    this.stopPolling();
  }

  private startPolling(): void {
    if (this.timer) return;
    this.baseline = this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  private stopPolling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  private async poll(): Promise<void> {
    const ports = await this.polled.ports().catch(() => this.last?.ports ?? []);
    const app = this.frontmost();
    const last = this.last;
    this.last = { ports, app };
    if (!last) return;
    const opened = ports.filter((p) => !last.ports.includes(p));
    const closed = last.ports.filter((p) => !ports.includes(p));
    if (opened.length > 0 || closed.length > 0) this.publish({ ports: { ports, opened, closed } });
    if (app !== last.app) this.publish({ app: { bundleId: app } });
  }

  private frontmost(): string {
    try {
      return this.polled.frontmost();
    } catch {
      return "";
    }
  }
}
