import type { Logger } from "pino";
import type { ShellOpen, ShellRequest, ShellResponse } from "../../../generated/ghostd/agent/v1/agent";
import type { PtyHost } from "../../terminal/pty";
import { agentError } from "../reasons";
import { openShell, type ShellContext, type ShellEvent, type ShellSession } from "./shell";

/** End of transmission: what a terminal sends for Ctrl-D, an interactive shell's cue to exit. */
const EOF_KEY = Uint8Array.of(4);

/**
 * One Shell call: the first request opens the shell, later ones are typed or resize it; the
 * client half-closing is Ctrl-D (the shell finishes what it was given, then exits), the client
 * going away hangs it up.
 */
export async function shellCall(
  requests: AsyncIterator<ShellRequest>,
  signal: AbortSignal,
  deps: { host: PtyHost; context: ShellContext; logger: Logger },
): Promise<AsyncIterable<ShellResponse>> {
  const first = await requests.next();
  if (first.done || !first.value.open) throw agentError("invalid_argument", "the first message of a Shell call must be `open`");
  const session = await openShell(deps.host, shellOptions(first.value.open), deps.context);
  signal.addEventListener("abort", () => session.hangUp(), { once: true });
  if (signal.aborted) session.hangUp();
  void feed(requests, session, deps.logger);
  return replies(session.events);
}

function shellOptions(open: ShellOpen): Parameters<typeof openShell>[1] {
  return { cols: open.cols, rows: open.rows, term: open.term, command: open.command, env: open.env, cwd: open.cwd };
}

async function feed(requests: AsyncIterator<ShellRequest>, session: ShellSession, logger: Logger): Promise<void> {
  try {
    for (let next = await requests.next(); !next.done; next = await requests.next()) apply(next.value, session, logger);
    session.write(EOF_KEY);
  } catch {
    // The call was cancelled: the abort signal hangs up.
  }
}

function apply(request: ShellRequest, session: ShellSession, logger: Logger): void {
  if (request.input.length > 0) session.write(request.input);
  if (!request.resize) return;
  try {
    session.resize(request.resize.cols, request.resize.rows);
  } catch (err) {
    // A bad size leaves the shell as it was; the session goes on.
    logger.debug({ err, pid: session.pid }, "shell resize refused");
  }
}

async function* replies(events: AsyncIterable<ShellEvent>): AsyncGenerator<ShellResponse> {
  for await (const event of events) {
    yield "output" in event ? { output: event.output } : { output: Buffer.alloc(0), exit: { code: event.exitCode } };
  }
}
