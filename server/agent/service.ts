import { Metadata } from "@grpc/grpc-js";
import { join } from "node:path";
import type { Logger } from "pino";
import { GuestAgentService, OutputEncoding, type ExecResponse, type GuestAgentServer, type OpenVsockTunnelRequest } from "../../generated/ghostd/agent/v1/agent";
import { desktopClipboard } from "../clipboard/desktop";
import type { ClipboardStore } from "../clipboard/store";
import type { HttpBody } from "../../generated/google/api/httpbody";
import { flatten } from "../event-stream";
import type { LogRing } from "../log-ring";
import { bidiStream, bindService, clientStream, opening, serverStream, unary, type ServiceBinding } from "../rpc/bind";
import { ThreadPtyHost } from "../terminal/pty-host/host";
import { Apps } from "./apps";
import { GuestClipboard } from "./clipboard";
import type { ExecRequest, ExecResult } from "./exec";
import { ExecHost } from "./exec-host/client";
import { FileQueue } from "./file-queue";
import { downloadMetadata } from "./download-headers";
import { deletePath, listDirectory, makeDirectory, mediaType, movePath, openReadableFile, writeFileAtomic, type ReadableFile } from "./files";
import { agentHealth } from "./health";
import { listeningPorts } from "./listening-ports";
import { openPath } from "./opener";
import { outputText, type OutputEncoding as Encoding } from "./output-text";
import { agentError } from "./reasons";
import { AgentEvents } from "./events/agent-events";
import { eventHandlers } from "./events/event-calls";
import { fsInspectionHandlers } from "./fs-watch/fs-calls";
import { Watchers } from "./fs-watch/watchers";
import { processHandlers } from "./processes/process-calls";
import { ProcessTable } from "./processes/process-table";
import { shellCall } from "./shell/shell-calls";
import { UrlQueue } from "./url-queue";
import { receiveCall } from "./receive/receive-calls";
import { ReceivedFiles } from "./receive/received-files";
import { refuseVsock } from "./tunnel/guest-port";
import { tunnelCall } from "./tunnel/tunnel-calls";

export interface AgentDeps {
  readonly logger: Logger;
  /** The logger's recent lines: `GET /api/v1/logs`, and `log` events. */
  readonly logs: LogRing;
  readonly version: string;
  /** Where the agent keeps its state (the file queue). */
  readonly stateDir: string;
  readonly clipboard: ClipboardStore;
  /** The agent user's home, where `~` points. */
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Bytes of output kept per stream by a non-streaming exec. */
  readonly execOutputLimit: number;
}

function execRequest(req: { command: string; args: string[]; timeout?: number | undefined; cwd?: string | undefined; env: Record<string, string>; stdin?: string | undefined }): ExecRequest {
  return { command: req.command, args: req.args, timeoutSeconds: req.timeout, cwd: req.cwd, env: req.env, stdin: req.stdin };
}

const ENCODINGS: Readonly<Record<Encoding, OutputEncoding>> = {
  "utf-8": OutputEncoding.OUTPUT_ENCODING_UTF8,
  "utf-8-lossy": OutputEncoding.OUTPUT_ENCODING_UTF8_LOSSY,
  base64: OutputEncoding.OUTPUT_ENCODING_BASE64,
};

/** Whether an Exec asks for base64, checked before the command runs. */
function wantsBase64(encoding: OutputEncoding | undefined): boolean {
  switch (encoding) {
    case undefined:
    case OutputEncoding.OUTPUT_ENCODING_UNSPECIFIED:
    case OutputEncoding.OUTPUT_ENCODING_UTF8:
      return false;
    case OutputEncoding.OUTPUT_ENCODING_BASE64:
      return true;
    default:
      throw agentError("invalid_argument", "output_encoding may ask for utf-8 or base64; utf-8-lossy is what a response says of its text");
  }
}

function execResponse(result: ExecResult, base64: boolean): ExecResponse {
  const stdout = outputText(result.stdout, { base64, cut: result.truncated.stdout });
  const stderr = outputText(result.stderr, { base64, cut: result.truncated.stderr });
  return {
    exitCode: result.exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    truncated: result.truncated.stdout || result.truncated.stderr,
    stdoutEncoding: ENCODINGS[stdout.encoding],
    stderrEncoding: ENCODINGS[stderr.encoding],
  };
}

/**
 * A file path as ReadFile and WriteFile take it: from the root unless it starts with `~`, since
 * over HTTP it is the rest of the URL path (`/api/v1/files/etc/hosts`), which has lost its `/`.
 */
function rootedPath(path: string): string {
  return path === "" || path.startsWith("/") || path.startsWith("~") ? path : `/${path}`;
}

async function* fileBodies(file: ReadableFile): AsyncGenerator<{ body: HttpBody }> {
  let first = true;
  const contentType = mediaType(file.path);
  for await (const chunk of file.chunks()) {
    yield { body: { contentType: first ? contentType : "", data: chunk, extensions: [] } };
    first = false;
  }
  // An empty file is still a file: one message with its type and no bytes.
  if (first) yield { body: { contentType, data: Buffer.alloc(0), extensions: [] } };
}

type Handlers = Partial<GuestAgentServer>;

/** For the methods that answer only that they did it. */
async function ok(work: Promise<unknown>): Promise<{ ok: true }> {
  await work;
  return { ok: true };
}

function clipboardHandlers(logger: Logger, clipboard: GuestClipboard): Handlers {
  return {
    getClipboard: unary(logger, async (_req, { sendMetadata }) => {
      const content = await clipboard.get();
      const metadata = new Metadata();
      metadata.set("x-clipboard-type", content.type);
      sendMetadata(metadata);
      const empty = content.data.length === 0;
      return { body: { contentType: empty ? "" : "application/octet-stream", data: content.data, extensions: [] }, type: content.type };
    }),
    setClipboard: unary(logger, (req, { metadata }) => {
      const [header] = metadata.get("x-clipboard-type");
      const data = req.body?.data ?? Buffer.alloc(0);
      return ok(clipboard.set({ data, contentType: req.body?.contentType ?? "", type: req.type, headerType: typeof header === "string" ? header : undefined }));
    }),
  };
}

function execHandlers(logger: Logger, execHost: ExecHost, outputLimit: number): Handlers {
  return {
    exec: unary(logger, async (req, { signal }) => {
      const base64 = wantsBase64(req.outputEncoding);
      return execResponse(await execHost.run(execRequest(req), outputLimit, {}, signal), base64);
    }),
    execStream: serverStream(logger, (req, { signal }) => flatten(execHost.stream(execRequest(req), signal))),
  };
}

function fileHandlers(logger: Logger, home: string, queue: FileQueue): Handlers {
  // GhostVM saves what the host sends in the guest's Downloads; ours go in a folder of their own.
  const received = new ReceivedFiles(join(home, "Downloads", "ghostd"));
  return {
    receiveFile: clientStream(logger, (requests, { signal }) => receiveCall(received, requests, signal)),
    listQueuedFiles: unary(logger, () => ({ files: queue.list() })),
    clearQueuedFiles: unary(logger, () => ok(queue.clear())),
    queueFiles: unary(logger, async (req) => ({ files: await queue.add(req.paths, home) })),
    listDirectory: unary(logger, (req) => listDirectory(req.path, home)),
    makeDirectory: unary(logger, async (req) => ({ ok: true, path: await makeDirectory(req.path, req.parents, home) })),
    deletePath: unary(logger, (req) => ok(deletePath(req.path, req.recursive, home))),
    movePath: unary(logger, (req) => ok(movePath(req.from, req.to, req.overwrite, home))),
    readFile: serverStream(logger, (req, { sendMetadata }) =>
      opening(async () => {
        const file = await openReadableFile(rootedPath(req.path), home);
        sendMetadata(downloadMetadata(file.path, file.mode));
        return fileBodies(file);
      }),
    ),
    writeFile: unary(logger, async (req) => {
      const data = req.body?.data ?? Buffer.alloc(0);
      return { path: await writeFileAtomic(rootedPath(req.path), data, req.parents, home), size: data.length };
    }),
  };
}

function appHandlers(logger: Logger, apps: Apps, opener: { home: string; env: AgentDeps["env"] }): Handlers {
  return {
    open: unary(logger, (req) => ok(openPath(req.path, req.app, opener, apps))),
    listApps: unary(logger, () => ({ apps: apps.list() })),
    launchApp: unary(logger, (req) => ok(apps.launch(req.bundleId))),
    activateApp: unary(logger, (req) => ok(apps.activate(req.bundleId))),
    quitApp: unary(logger, (req) => ok(apps.quit(req.bundleId))),
    getFrontmostApp: unary(logger, () => ({ bundleId: apps.frontmost() })),
  };
}

/** gRPC binding of ghostd.agent.v1.GuestAgent over the agent's domain modules. */
export function agentService(deps: AgentDeps): ServiceBinding {
  const { logger, home, env } = deps;
  const apps = new Apps({ home, env });
  const execHost = new ExecHost(env, home);
  const ptyHost = new ThreadPtyHost();
  const processes = new ProcessTable({ home, env, ptyHost });
  const watchers = new Watchers();
  const events = new AgentEvents({ ports: () => listeningPorts(), frontmost: () => apps.frontmost() });
  const urls = new UrlQueue(join(deps.stateDir, "url-queue.json"), (url) => events.publish({ url }));
  const stopLogEvents = deps.logs.onLine((line) => events.publish({ log: line }));
  const fileQueue = new FileQueue(join(deps.stateDir, "file-queue.json"), (files) => events.publish({ files }));
  const handlers: Handlers = {
    health: unary(logger, async () => {
      await execHost.ready().catch((err: unknown) => {
        throw agentError("exec_unavailable", `the agent cannot run commands: ${err instanceof Error ? err.message : String(err)}`);
      });
      return agentHealth(deps.version);
    }),
    listPorts: unary(logger, async () => ({ ports: await listeningPorts() })),
    ...clipboardHandlers(logger, new GuestClipboard(deps.clipboard, desktopClipboard(env), logger)),
    ...execHandlers(logger, execHost, deps.execOutputLimit),
    ...fileHandlers(logger, home, fileQueue),
    ...eventHandlers(logger, events, urls, deps.logs),
    ...appHandlers(logger, apps, { home, env }),
    ...processHandlers(logger, processes),
    ...fsInspectionHandlers(logger, home, watchers),
    openTunnel: bidiStream(logger, (requests, { signal }) => tunnelCall(requests, signal)),
    openVsockTunnel: bidiStream(logger, async (requests: AsyncIterator<OpenVsockTunnelRequest>) => {
      const first = await requests.next();
      return refuseVsock(first.done ? undefined : first.value.open?.port);
    }),
    shell: bidiStream(logger, (requests, { signal }) => shellCall(requests, signal, { host: ptyHost, context: { home, env }, logger })),
  };
  return bindService(GuestAgentService, handlers, async () => {
    execHost.close();
    events.close();
    stopLogEvents();
    await processes.close();
    watchers.close();
    await ptyHost.close();
    await apps.quitAll();
  });
}
