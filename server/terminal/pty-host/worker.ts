import { spawn, type IPty } from "node-pty";
import { parentPort } from "node:worker_threads";
import type { FromHost, ToHost } from "./protocol";

// The PTY host: reads and writes every terminal's PTY on its own thread, so a PTY is drained while
// the main thread parses what came before. Reads that arrive in one turn go out as one message.

const port = parentPort;
if (!port) throw new Error("the PTY host runs as a worker thread");
const ptys = new Map<number, IPty>();
const queued = new Map<number, Buffer[]>();
let flushing = false;

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
    const { options } = message;
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
      post({ type: "failed", id: message.id, message: err instanceof Error ? err.message : String(err) });
      return;
    }
    ptys.set(message.id, pty);
    post({ type: "spawned", id: message.id, pid: pty.pid });
    pty.onData((data: string | Buffer) => {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      const chunks = queued.get(message.id);
      if (chunks) chunks.push(chunk);
      else queued.set(message.id, [chunk]);
      if (!flushing) {
        flushing = true;
        setImmediate(flush);
      }
    });
    pty.onExit(({ exitCode, signal }) => {
      if (queued.has(message.id)) flush();
      ptys.delete(message.id);
      post({ type: "exit", id: message.id, exitCode, signal: signal ?? 0 });
    });
    return;
  }
  const pty = ptys.get(message.id);
  if (!pty) return;
  try {
    switch (message.type) {
      case "write":
        pty.write(message.data);
        break;
      case "resize":
        pty.resize(message.columns, message.rows);
        break;
      case "kill":
        pty.kill(message.signal);
        break;
      case "pause":
        pty.pause();
        break;
      case "resume":
        pty.resume();
        break;
    }
  } catch {
    // The process went away between the request and now; its exit message follows.
  }
}

port.on("message", onMessage);
