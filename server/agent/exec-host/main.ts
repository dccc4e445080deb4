import { Cgroups } from "../../cgroup";
import { DomainError } from "../../errors";
import { execute } from "../exec";
import type { FromExecHost, ToExecHost } from "./protocol";

// The exec host: a small process that starts the agent's commands. Forking copies the parent's
// page tables, so a command started from the daemon (100 MB and more) takes milliseconds longer
// than one started from here. Its environment is the agent's.

// Looked up once: whether this machine lets the host make a cgroup per command.
const cgroups = Cgroups.find();

const running = new Map<number, { cancel: AbortController; acks: (() => void)[] }>();

function send(message: FromExecHost): void {
  process.send?.(message);
}

async function run(message: Extract<ToExecHost, { type: "run" }>): Promise<void> {
  const state = { cancel: new AbortController(), acks: [] as (() => void)[] };
  running.set(message.id, state);
  // A streamed chunk holds its output stream until the agent has passed it on.
  const forward = (stream: "stdout" | "stderr") => (data: Buffer) =>
    new Promise<void>((resolve) => {
      state.acks.push(resolve);
      send({ type: "chunk", id: message.id, stream, data });
    });
  try {
    const result = await execute(
      message.request,
      { home: message.home, env: process.env, outputLimit: message.outputLimit, cgroups },
      message.stream ? { stdout: forward("stdout"), stderr: forward("stderr") } : {},
      state.cancel.signal,
    );
    send({ type: "done", id: message.id, result });
  } catch (err) {
    const error = err instanceof DomainError ? { code: err.code, reason: err.reason, message: err.message } : { message: err instanceof Error ? err.message : String(err) };
    send({ type: "failed", id: message.id, error });
  } finally {
    running.delete(message.id);
  }
}

process.on("message", (message: ToExecHost) => {
  if (message.type === "run") void run(message);
  else if (message.type === "ack") running.get(message.id)?.acks.shift()?.();
  else if (message.type === "ping") send({ type: "pong", id: message.id });
  else running.get(message.id)?.cancel.abort();
});

// The agent went away: its commands go with it.
process.on("disconnect", () => {
  for (const state of running.values()) state.cancel.abort();
  setTimeout(() => process.exit(0), 100).unref();
});
