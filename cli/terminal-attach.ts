import WebSocket from "ws";
import { findDetach, type DetachKey } from "./detach-key";

// `ghostctl attach`: the user's terminal becomes a client of a ghostd terminal, as with `tmux
// attach`, over the daemon's attach WebSocket (binary frames are terminal bytes both ways; text
// frames carry resizes in and the exit code out).

/** How an attachment ended: the user detached, the terminal's shell exited, or the daemon went away. */
export type Ending = { readonly kind: "detached" } | { readonly kind: "exited"; readonly code: number } | { readonly kind: "lost"; readonly why: string };

/**
 * What a program running inside may have turned on in the user's terminal, turned off again on the
 * way out, as tmux does when it detaches: attributes, a hidden cursor, the alternate screen (47,
 * which unlike 1049 moves no cursor when it was not on), mouse and focus reports, bracketed paste,
 * application cursor keys and keypad, the kitty keyboard protocol and xterm's modifyOtherKeys.
 */
export const RESTORE_TERMINAL = "\x1b[0m\x1b[?25h\x1b[?1047l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?1004l\x1b[?2004l\x1b[?1l\x1b>\x1b[<99u\x1b[>4m";

export function attachUrl(http: string, id: string): string {
  return `${http.replace(/^http/, "ws")}/api/v2/terminals/${encodeURIComponent(id)}/attach`;
}

/** Opens the attach WebSocket; a refusal rejects with the API's message and error code, as one line. */
export function openAttachSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "ECONNREFUSED" ? new Error(`ghostd is not running at ${url.replace(/\/api\/.*$/, "")} (it refused the connection); start it with "npm start" in the ghostd checkout (or "ghostd serve"), or point ghostctl at a running one with --home DIR`) : err));
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => reject(new Error(refusal(response.statusCode ?? 0, body))));
    });
  });
}

/** `no terminal X (terminal_not_found)` from the API's `{"error", "message"}`, else the status and body. */
function refusal(status: number, body: string): string {
  try {
    const { error, message } = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (typeof error === "string" && typeof message === "string") return `${message} (${error})`;
  } catch {
    // Not the API's JSON: said as it came, below.
  }
  return `the attach was refused with HTTP ${status}: ${body.trim() || "no body"}`;
}

/** Raw mode on a terminal stdin, so every key (Ctrl-C included) goes to the program inside. */
export function enterRawMode(): void {
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
}

/** Gives the user's terminal back as it was; safe to call twice. */
export function restoreTerminal(): void {
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  if (process.stdout.isTTY) process.stdout.write(RESTORE_TERMINAL);
}

/** Runs an open attachment until it ends; by then every listener it added is gone, so ghostctl can exit. */
export function runAttachment(ws: WebSocket, detachKey: DetachKey | undefined, firstInput?: Promise<string>): Promise<Ending> {
  return new Promise((resolve) => {
    const cleanups: (() => void)[] = [];
    let ended = false;
    const end = (ending: Ending): void => {
      if (ended) return;
      ended = true;
      for (const cleanup of cleanups) cleanup();
      // The socket may still fail while it closes; nobody listens for that any more, and an
      // 'error' without a listener would throw.
      ws.on("error", () => undefined);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      resolve(ending);
    };
    cleanups.push(receive(ws, end), forwardInput(ws, detachKey, () => end({ kind: "detached" })), followSize(ws), onSignals(() => end({ kind: "detached" })));
    void firstInput?.then((text) => {
      if (!ended) ws.send(Buffer.from(text), { binary: true });
    });
  });
}

/** Output to stdout (the socket paused while stdout catches up), the exit event, and a lost connection. */
function receive(ws: WebSocket, end: (ending: Ending) => void): () => void {
  const onMessage = (data: Buffer, binary: boolean): void => {
    if (!binary) {
      const code = exitCodeOf(data);
      if (code !== undefined) end({ kind: "exited", code });
      return;
    }
    if (!process.stdout.write(data)) {
      ws.pause();
      process.stdout.once("drain", () => ws.resume());
    }
  };
  const onClose = (code: number, reason: Buffer): void => end({ kind: "lost", why: `the connection to ghostd closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ""})` });
  const onError = (err: Error): void => end({ kind: "lost", why: err.message });
  ws.on("message", onMessage).on("close", onClose).on("error", onError);
  return () => ws.off("message", onMessage).off("close", onClose).off("error", onError);
}

/** The code of an `{"type":"exit","code":N}` event; undefined for any other text frame, which a newer daemon may send. */
export function exitCodeOf(frame: Buffer): number | undefined {
  let event: { type?: unknown; code?: unknown };
  try {
    event = JSON.parse(frame.toString("utf8")) as typeof event;
  } catch {
    return undefined;
  }
  if (event.type !== "exit") return undefined;
  return typeof event.code === "number" ? event.code : 1;
}

/** Stdin's bytes to the terminal, up to the detach key. The end of a piped stdin detaches nothing: the terminal's exit ends the attachment. */
function forwardInput(ws: WebSocket, detachKey: DetachKey | undefined, detach: () => void): () => void {
  const onData = (chunk: Buffer): void => {
    const at = findDetach(chunk, detachKey);
    const typed = at < 0 ? chunk : chunk.subarray(0, at);
    if (typed.length > 0) ws.send(typed, { binary: true });
    if (at >= 0) detach();
  };
  process.stdin.on("data", onData);
  return () => {
    process.stdin.off("data", onData);
    process.stdin.pause();
  };
}

/** The terminal takes the user's window size now and whenever it changes (SIGWINCH). */
function followSize(ws: WebSocket): () => void {
  if (!process.stdout.isTTY) return () => undefined;
  const send = (): void => ws.send(JSON.stringify({ type: "resize", cols: process.stdout.columns, rows: process.stdout.rows }));
  send();
  process.stdout.on("resize", send);
  return () => process.stdout.off("resize", send);
}

/** A hang-up or termination detaches, so the terminal is left running and the user's tty restored. */
function onSignals(detach: () => void): () => void {
  const signals: NodeJS.Signals[] = ["SIGHUP", "SIGTERM", "SIGINT"];
  for (const signal of signals) process.on(signal, detach);
  return () => {
    for (const signal of signals) process.off(signal, detach);
  };
}

/**
 * Attaches this process's terminal to ghostd terminal `id` until the user detaches or its shell
 * exits; answers the exit code ghostctl should end with (0 on detach, the shell's on exit).
 * `firstInput`, once it resolves, is typed as if by the user, after the attachment is open.
 */
export async function attachTerminal(http: string, id: string, detachKey: DetachKey | undefined, firstInput?: Promise<string>): Promise<number> {
  const ws = await openAttachSocket(attachUrl(http, id));
  enterRawMode();
  // A crash must not leave the user's terminal raw.
  process.once("exit", restoreTerminal);
  let ending: Ending;
  try {
    ending = await runAttachment(ws, detachKey, firstInput);
  } finally {
    process.off("exit", restoreTerminal);
    restoreTerminal();
  }
  return report(ending, id);
}

/** Tells the user how it ended, on a fresh line below what the terminal showed, as tmux does. */
function report(ending: Ending, id: string): number {
  if (process.stdout.isTTY) process.stdout.write("\r\n\x1b[J");
  if (ending.kind === "lost") throw new Error(`attachment to ${id} lost before its shell exited: ${ending.why}`);
  if (ending.kind === "detached") {
    process.stderr.write(`[detached from ${id}]\n`);
    return 0;
  }
  if (process.stderr.isTTY) process.stderr.write(`[${id} exited with code ${ending.code}]\n`);
  return ending.code;
}
