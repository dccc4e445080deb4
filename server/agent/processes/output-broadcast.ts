import { eventStream, flatten, type EventSink, type QueueBound } from "../../event-stream";
import { agentError } from "../reasons";
import type { ChildEvents, ExitStatus } from "./child";
import { OutputHistory } from "./output-history";
import type { OutputKind, ProcessEvent } from "./types";

export const DEFAULT_QUEUE_BYTES = 1024 * 1024;

/**
 * One process's output on its way to whoever is connected: kept in a bounded history for those
 * who connect later, and copied to each connected reader's queue. The process never waits for a
 * reader (its pipes are read at once whatever the readers do), so each reader's queue is bounded;
 * a reader that falls `queueBytes` behind is dropped: its stream fails with reader_too_slow
 * (RESOURCE_EXHAUSTED), the process and the other readers go on, and the reader may connect again
 * with replay for the latest history. Failing loudly, not skipping output: a gap in a stream
 * that looks whole would be worse than a stream that says it broke.
 */
export class OutputBroadcast implements ChildEvents {
  private readonly history: OutputHistory;
  private readonly readers = new Set<EventSink<ProcessEvent>>();
  private status: ExitStatus | undefined;
  private resolveEnded: () => void = () => undefined;
  /** Settles once the process has exited and its last output went out. */
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));

  constructor(
    historyBytes: number,
    private readonly queueBytes: number,
  ) {
    this.history = new OutputHistory(historyBytes);
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  output(kind: OutputKind, data: Buffer): void {
    if (this.status) return;
    this.history.append(kind, data);
    const event: ProcessEvent = { kind, data };
    for (const reader of this.readers) void reader.push(event);
  }

  exit(status: ExitStatus): void {
    if (this.status) return;
    this.status = status;
    const end = endEvent(status);
    for (const reader of this.readers) {
      void reader.push(end);
      reader.end();
    }
    this.readers.clear();
    this.resolveEnded();
  }

  /** 'start', the history if `replay`, live output from the moment iteration begins, and 'end'. */
  connect(pid: number, replay: boolean, signal: AbortSignal): AsyncIterable<ProcessEvent> {
    const bound: QueueBound<ProcessEvent> = {
      max: this.queueBytes,
      weigh: (event) => ("data" in event ? event.data.length : 0),
      overflow: () => agentError("reader_too_slow", `the reader fell more than ${this.queueBytes} bytes behind the output of process ${pid}; the process runs on: connect again, with replay for its latest output`),
    };
    return flatten(eventStream(signal, (sink) => this.subscribe(sink, pid, replay), bound));
  }

  private subscribe(sink: EventSink<ProcessEvent>, pid: number, replay: boolean): () => void {
    // All in one turn: nothing the process writes can fall between the history and the live output.
    void sink.push({ kind: "start", pid });
    if (replay) for (const chunk of this.history.snapshot()) void sink.push(chunk);
    if (this.status) {
      void sink.push(endEvent(this.status));
      sink.end();
      return () => undefined;
    }
    this.readers.add(sink);
    return () => this.readers.delete(sink);
  }
}

function endEvent(status: ExitStatus): ProcessEvent {
  return status.signal === undefined ? { kind: "end", exitCode: status.exitCode } : { kind: "end", exitCode: status.exitCode, signal: status.signal };
}
