import { eventStream } from "../event-stream";
import { terminalError } from "./reasons";
import type { Session } from "./session";

export type AttachEvent = { readonly output: Buffer } | { readonly exitCode: number };

/**
 * Output queued for one attached client that is not reading. The terminal does not wait for
 * any one client (others and the API read it too), so past this the client is let go.
 */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

function weigh(event: AttachEvent): number {
  return "output" in event ? event.output.length : 0;
}

/**
 * A client attached to a terminal: a redraw of the screen, then the program's output as it comes,
 * then the exit code if the shell ends. The redraw is taken once the emulator has parsed all that
 * came before the client attached, so redraw and output neither overlap nor leave a gap.
 */
export function attachOutput(session: Session, signal: AbortSignal): AsyncIterable<AttachEvent[]> {
  return eventStream<AttachEvent>(
    signal,
    (sink) => {
      const held: AttachEvent[] = [];
      let redrawn = false;
      let exited = false;
      const deliver = (event: AttachEvent): void => void (redrawn ? sink.push(event) : held.push(event));
      const untap = session.tapOutput((chunk) => deliver({ output: Buffer.from(chunk) }));
      const unwatch = session.onChange(() => {
        if (session.exitStatus === undefined || exited) return;
        exited = true;
        deliver({ exitCode: session.exitStatus });
        if (redrawn) sink.end();
      });
      void session.emulator.write("").then(() => {
        void sink.push({ output: Buffer.from(session.emulator.redraw()) });
        redrawn = true;
        for (const event of held) void sink.push(event);
        if (exited) sink.end();
      });
      return () => {
        untap();
        unwatch();
      };
    },
    {
      max: MAX_QUEUED_BYTES,
      weigh,
      overflow: () => terminalError("client_too_slow", `the attached client fell ${MAX_QUEUED_BYTES} bytes behind the terminal's output and was let go`),
    },
  );
}
