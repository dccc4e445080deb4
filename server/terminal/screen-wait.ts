import { setTimeout as delay } from "node:timers/promises";
import type { WaitRequest, WaitResponse, WatchScreenResponse } from "../../generated/ghostd/terminal/v1/terminal";
import { eventStream } from "../event-stream";
import { linearRegExp } from "../linear-regexp";
import { terminalError } from "./reasons";
import type { Session } from "./session";

const DEFAULT_WAIT_MS = 10_000;
const MAX_WAIT_MS = 600_000;

/** What a wait request waits for, checked once before waiting starts. */
interface WaitCondition {
  /** The pattern as the caller wrote it, for the timeout message. */
  readonly match: string | undefined;
  readonly pattern: RegExp | undefined;
  readonly untilPrompt: boolean;
  readonly scope: "visible" | "contents";
  readonly timeout: number;
}

/**
 * Resolves when the screen matches `match` and, with `until: prompt`, the shell has shown a
 * prompt since the last Enter; fails with `wait_timeout` after the timeout, and with
 * `terminal_not_found` once `open` says the terminal closed.
 */
export async function waitForScreen(session: Session, request: WaitRequest, signal: AbortSignal, open: () => boolean): Promise<WaitResponse> {
  const condition = waitCondition(request);
  const immediate = check(session, condition);
  if (immediate) return immediate;
  const timedOut = AbortSignal.timeout(condition.timeout);
  for await (const _ of changes(session, AbortSignal.any([signal, timedOut]))) {
    if (!open()) throw terminalError("terminal_not_found", `terminal ${request.id} closed while waiting`);
    const result = check(session, condition);
    if (result) return result;
  }
  if (!timedOut.aborted) throw new Error("cancelled");
  const hint = condition.untilPrompt && !session.emulator.shell.integrated ? "; the shell sent no OSC 133 prompt marks (see the shell integration docs)" : "";
  const what = condition.pattern ? `match /${condition.match ?? ""}/` : "show a new prompt";
  throw terminalError("wait_timeout", `the screen did not ${what} within ${condition.timeout} ms${hint}`);
}

/**
 * Yields the visible screen at once and then whenever it changes, at most once per interval;
 * ends when `open` says the terminal closed or `signal` aborts.
 */
export async function* watchScreen(session: Session, intervalMs: number | undefined, signal: AbortSignal, open: () => boolean): AsyncGenerator<WatchScreenResponse> {
  const interval = Math.max(intervalMs ?? 50, 10);
  let last = screenState(session);
  yield last;
  let lastSent = Date.now();
  for await (const _ of changes(session, signal)) {
    if (!open() || !(await pause(lastSent + interval - Date.now(), signal))) return;
    if (!open()) return;
    const next = screenState(session);
    if (sameScreen(next, last)) continue;
    last = next;
    lastSent = Date.now();
    yield next;
  }
}

function waitCondition(request: WaitRequest): WaitCondition {
  if (request.until !== undefined && request.until !== "" && request.until !== "prompt") {
    throw terminalError("invalid_argument", `until "${request.until}" is not prompt`);
  }
  const untilPrompt = request.until === "prompt";
  if ((request.match === undefined || request.match === "") && !untilPrompt) {
    throw terminalError("missing_field", 'wait needs "match", "until", or both');
  }
  const scope = request.scope || "visible";
  if (scope !== "visible" && scope !== "contents") throw terminalError("invalid_argument", `scope "${scope}" is not visible or contents`);
  const pattern = request.match ? regExp(request.match) : undefined;
  const timeout = Math.min(request.timeoutMs ?? DEFAULT_WAIT_MS, MAX_WAIT_MS);
  if (timeout < 0) throw terminalError("invalid_argument", "timeout_ms must not be negative");
  return { match: request.match, pattern, untilPrompt, scope, timeout };
}

function regExp(match: string): RegExp {
  try {
    return linearRegExp(match, "m");
  } catch (err) {
    const shown = match.length > 200 ? `${match.slice(0, 200)}…` : match;
    throw terminalError("invalid_match", `"${shown}" is not a regular expression this API matches: ${(err as Error).message}`);
  }
}

/** The answer when the screen meets the condition now; undefined while it does not. */
function check(session: Session, condition: WaitCondition): WaitResponse | undefined {
  const shell = session.emulator.shell;
  if (condition.untilPrompt && !(shell.atPrompt && shell.prompts > session.promptsAtLastEnter)) return undefined;
  const done = { matched: true, match: "", line: 0, column: 0, text: "", atPrompt: shell.atPrompt, lastExitCode: shell.lastExitCode };
  if (!condition.pattern) return done;
  const text = condition.scope === "contents" ? session.emulator.contents() : session.emulator.visible();
  const found = condition.pattern.exec(text);
  if (!found) return undefined;
  const before = text.slice(0, found.index);
  const lineStart = before.lastIndexOf("\n") + 1;
  const lineEnd = text.indexOf("\n", found.index);
  return { ...done, match: found[0], line: before.split("\n").length - 1, column: found.index - lineStart, text: text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd) };
}

/** Batches of change notices from a session until `signal` aborts: wait and watch both follow these. */
function changes(session: Session, signal: AbortSignal): AsyncIterable<Session[]> {
  // A queued notice stands for any that follow it: the reader looks at the screen itself.
  return eventStream<Session>(signal, (sink) => session.onChange(() => void sink.push(session)), { max: 1, overflow: "drop" });
}

function screenState(session: Session): WatchScreenResponse {
  const { emulator } = session;
  return { id: session.id, visible: emulator.visible(), cursorX: emulator.cursor.x, cursorY: emulator.cursor.y, title: session.title, columns: emulator.columns, rows: emulator.rows };
}

function sameScreen(a: WatchScreenResponse, b: WatchScreenResponse): boolean {
  return a.visible === b.visible && a.cursorX === b.cursorX && a.cursorY === b.cursorY && a.title === b.title && a.columns === b.columns && a.rows === b.rows;
}

/** Waits `ms` (nothing when not positive); false when `signal` aborted first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !signal.aborted;
  return delay(ms, true, { signal }).catch(() => false);
}
