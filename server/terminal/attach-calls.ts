import type { Logger } from "pino";
import type { AttachTerminalRequest, AttachTerminalResponse } from "../../generated/ghostd/terminal/v1/terminal";
import { flatten } from "../event-stream";
import { isPtySide } from "../pty-size";
import { attachOutput, type AttachEvent } from "./attach";
import { terminalError } from "./reasons";
import type { Session } from "./session";

/**
 * One AttachTerminal call: the first request names the terminal (an unknown one fails the call
 * before any reply), later ones type into it or resize it. Detaching, by half-closing or going
 * away, leaves the terminal as it is.
 */
export async function attachCall(
  requests: AsyncIterator<AttachTerminalRequest>,
  signal: AbortSignal,
  deps: { find: (id: string) => Session; logger: Logger },
): Promise<AsyncIterable<AttachTerminalResponse>> {
  const first = await requests.next();
  const id = first.done ? undefined : first.value.open?.id;
  if (!id) throw terminalError("missing_field", "the first message of an AttachTerminal call must be `open` with the terminal's id");
  const session = deps.find(id);
  void feed(requests, session, deps.logger);
  return replies(flatten(attachOutput(session, signal)));
}

async function feed(requests: AsyncIterator<AttachTerminalRequest>, session: Session, logger: Logger): Promise<void> {
  try {
    for (let next = await requests.next(); !next.done; next = await requests.next()) {
      if (next.value.input.length > 0) session.write(next.value.input);
      if (next.value.resize) resize(session, next.value.resize.cols, next.value.resize.rows, logger);
    }
  } catch {
    // The client went away: detached, nothing to undo.
  }
}

function resize(session: Session, cols: number, rows: number, logger: Logger): void {
  // A bad size leaves the terminal as it was; the attachment goes on.
  if (isPtySide(cols) && isPtySide(rows)) session.resize(cols, rows);
  else logger.debug({ terminal: session.id, cols, rows }, "attach resize refused");
}

async function* replies(events: AsyncIterable<AttachEvent>): AsyncGenerator<AttachTerminalResponse> {
  for await (const event of events) {
    yield "output" in event ? { output: event.output } : { output: Buffer.alloc(0), exit: { code: event.exitCode } };
  }
}
