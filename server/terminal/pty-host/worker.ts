import { spawn, type IPty } from "node-pty";
import { parentPort } from "node:worker_threads";
import type { FromHost, SpawnOptions, ToHost } from "./protocol";

// The PTY host: reads and writes every terminal's PTY on its own thread, so a PTY is drained while
// the main thread parses what came before. Reads that arrive in one turn go out as one message.

const port = parentPort;
if (!port) throw new Error("the PTY host runs as a worker thread");
const ptys = new Map<number, IPty>();
const queued = new Map<number, Buffer[]>();
let flushing = false;
/** Set once the main thread asked the host to close: called when the last PTY has exited. */
let closed: (() => void) | undefined;
/** After SIGHUP at close, how long the PTYs' processes have before SIGKILL. */
const HANGUP_GRACE_MS = 1000;

function post(message: FromHost, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function flush(): void {
  flushing = false;
  for (const [id, chunks] of queued) {
    const joined = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
    // A copy the main thread can own outright.
    const data = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
    post({ type: "data", id, data }, [data]);
  }
  queued.clear();
}

function onMessage(message: ToHost): void {
  if (message.type === "spawn") {
    start(message.id, message.options);
    return;
  }
  if (message.type === "close") {
    close();
    return;
  }
  const pty = ptys.get(message.id);
  if (!pty) return;
  try {
    control(pty, message);
  } catch {
    // The process went away between the request and now; its exit message follows.
  }
}

function start(id: number, options: SpawnOptions): void {
  let pty: IPty;
  try {
    pty = spawn(options.file, [...options.args], {
      name: "xterm-256color",
      cols: options.columns,
      rows: options.rows,
      cwd: options.cwd,
      env: { ...options.env },
      encoding: null,
    });
  } catch (err) {
    post({ type: "failed", id, message: err instanceof Error ? err.message : String(err) });
    return;
  }
  ptys.set(id, pty);
  post({ type: "spawned", id, pid: pty.pid });
  pty.onData((data: string | Buffer) => queue(id, typeof data === "string" ? Buffer.from(data) : data));
  pty.onExit(({ exitCode, signal }) => {
    if (queued.has(id)) flush();
    ptys.delete(id);
    post({ type: "exit", id, exitCode, signal: signal ?? 0 });
    if (closed && ptys.size === 0) closed();
  });
}

/**
 * Ends the thread once no PTY is left. Terminating it with a PTY open lets node-pty call into a
 * thread that is going away when that PTY's process exits, and the whole daemon aborts
 * ("terminate called after throwing an instance of 'Napi::Error'").
 */
function close(): void {
  closed = () => {
    clearTimeout(killer);
    port?.close();
  };
  const signalAll = (signal: string): void => {
    for (const pty of ptys.values()) {
      try {
        pty.kill(signal);
      } catch {
        // Already gone; its exit is on its way.
      }
    }
  };
  const killer = setTimeout(() => signalAll("SIGKILL"), HANGUP_GRACE_MS);
  if (ptys.size === 0) return closed();
  signalAll("SIGHUP");
}

/** Holds a read until the end of this turn, when everything read in it goes out together. */
function queue(id: number, chunk: Buffer): void {
  const chunks = queued.get(id);
  if (chunks) chunks.push(chunk);
  else queued.set(id, [chunk]);
  if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
}

function control(pty: IPty, message: Exclude<ToHost, { type: "spawn" | "close" }>): void {
  switch (message.type) {
    case "write":
      pty.write(typeof message.data === "string" ? message.data : Buffer.from(message.data));
      return;
    case "resize":
      pty.resize(message.columns, message.rows);
      return;
    case "kill":
      pty.kill(message.signal);
      return;
    case "pause":
      pty.pause();
      return;
    case "resume":
      pty.resume();
      return;
  }
}

port.on("message", onMessage);
