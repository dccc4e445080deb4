import type { Logger } from "pino";
import type { ConnectProcessResponse, GuestAgentServer, ProcessInfo as ProcessMessage, StartProcessRequest } from "../../../generated/ghostd/agent/v1/agent";
import { serverStream, unary } from "../../rpc/bind";
import { agentError } from "../reasons";
import type { ProcessTable } from "./process-table";
import { PROCESS_SIGNALS, type ProcessEvent, type ProcessInfo, type ProcessSelector, type ProcessSignal, type StartOptions } from "./types";

const PID = /^\d+$/;

/** `process` as the API takes it: digits are a pid, anything else a tag. */
function selectorOf(process: string): ProcessSelector {
  if (process === "") throw agentError("invalid_argument", "process must be a pid or a tag");
  return PID.test(process) ? { pid: Number(process) } : { tag: process };
}

function startOptions(req: StartProcessRequest): StartOptions {
  if (req.tag !== undefined && PID.test(req.tag)) throw agentError("invalid_argument", `tag "${req.tag}" is all digits, which would read as a pid`);
  return { command: req.command, args: req.args, cwd: req.cwd, env: req.env, tag: req.tag, pty: req.pty ? { cols: req.pty.cols, rows: req.pty.rows } : undefined };
}

function infoMessage(info: ProcessInfo): ProcessMessage {
  return { ...info, args: [...info.args], startedAt: info.startedAt };
}

function signalOf(name: string): ProcessSignal {
  const signal = PROCESS_SIGNALS.find((s) => s === name.toUpperCase() || s === `SIG${name.toUpperCase()}`);
  if (!signal) throw agentError("invalid_argument", `signal must be one of ${PROCESS_SIGNALS.join(", ")}; got "${name}"`);
  return signal;
}

function eventMessage(event: ProcessEvent): ConnectProcessResponse {
  switch (event.kind) {
    case "start":
      return { start: { pid: event.pid } };
    case "end":
      return { end: { exitCode: event.exitCode, signal: event.signal } };
    default:
      return { [event.kind]: event.data };
  }
}

/** A generator, so that an unknown process fails the stream rather than the handler's call. */
async function* connectEvents(table: ProcessTable, process: string, replay: boolean, signal: AbortSignal): AsyncGenerator<ConnectProcessResponse> {
  for await (const event of table.connect(selectorOf(process), { replay }, signal)) yield eventMessage(event);
}

/** The GuestAgent methods of background processes, over the agent's process table. */
export function processHandlers(logger: Logger, table: ProcessTable): Partial<GuestAgentServer> {
  return {
    startProcess: unary(logger, async (req) => ({ process: infoMessage(await table.start(startOptions(req))) })),
    listProcesses: unary(logger, () => ({ processes: table.list().map(infoMessage) })),
    connectProcess: serverStream(logger, (req, { signal }) => connectEvents(table, req.process, req.replay, signal)),
    sendProcessInput: unary(logger, (req) => {
      table.sendInput(selectorOf(req.process), Buffer.from(req.body?.data ?? []));
      return { ok: true };
    }),
    closeProcessStdin: unary(logger, (req) => {
      table.closeStdin(selectorOf(req.process));
      return { ok: true };
    }),
    signalProcess: unary(logger, (req) => {
      table.signal(selectorOf(req.process), signalOf(req.signal));
      return { ok: true };
    }),
    resizeProcess: unary(logger, (req) => {
      table.resize(selectorOf(req.process), req.cols, req.rows);
      return { ok: true };
    }),
  };
}
