import { Metadata } from "@grpc/grpc-js";
import { join } from "node:path";
import type { Logger } from "pino";
import { GuestAgentService, OutputEncoding, type ExecResponse, type GuestAgentServer } from "../../generated/ghostd/agent/v1/agent";
import { desktopClipboard } from "../clipboard/desktop";
import type { ClipboardStore } from "../clipboard/store";
import type { HttpBody } from "../../generated/google/api/httpbody";
import { flatten } from "../event-stream";
import { bindService, serverStream, unary, type ServiceBinding } from "../rpc/bind";
import { Apps } from "./apps";
import { GuestClipboard } from "./clipboard";
import type { ExecRequest, ExecResult } from "./exec";
import { ExecHost } from "./exec-host/client";
import { FileQueue } from "./file-queue";
import { deletePath, listDirectory, makeDirectory, mediaType, movePath, readFileChunks, writeFileAtomic } from "./files";
import { agentHealth } from "./health";
import { openPath } from "./opener";
import { outputText, type OutputEncoding as Encoding } from "./output-text";
import { agentError } from "./reasons";

export interface AgentDeps {
  readonly logger: Logger;
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

async function* fileBodies(path: string, home: string): AsyncGenerator<{ body: HttpBody }> {
  let first = true;
  const contentType = mediaType(path);
  for await (const chunk of readFileChunks(rootedPath(path), home)) {
    yield { body: { contentType: first ? contentType : "", data: chunk, extensions: [] } };
    first = false;
  }
  // An empty file is still a file: one message with its type and no bytes.
  if (first) yield { body: { contentType, data: Buffer.alloc(0), extensions: [] } };
}

/** gRPC binding of ghostd.agent.v1.GuestAgent over the agent's domain modules. */
export function agentService(deps: AgentDeps): ServiceBinding {
  const { logger, home, env } = deps;
  const apps = new Apps({ home, env });
  const queue = new FileQueue(join(deps.stateDir, "file-queue.json"));
  const clipboard = new GuestClipboard(deps.clipboard, desktopClipboard(env), logger);
  const execHost = new ExecHost(env, home);
  const handlers: Partial<GuestAgentServer> = {
    health: unary(logger, () => agentHealth(deps.version)),
    getClipboard: unary(logger, async (_req, { sendMetadata }) => {
      const content = await clipboard.get();
      const metadata = new Metadata();
      metadata.set("x-clipboard-type", content.type);
      sendMetadata(metadata);
      const empty = content.data.length === 0;
      return { body: { contentType: empty ? "" : "application/octet-stream", data: content.data, extensions: [] }, type: content.type };
    }),
    setClipboard: unary(logger, async (req, { metadata }) => {
      const [header] = metadata.get("x-clipboard-type");
      await clipboard.set({
        data: req.body?.data ?? Buffer.alloc(0),
        contentType: req.body?.contentType ?? "",
        type: req.type,
        headerType: typeof header === "string" ? header : undefined,
      });
      return { ok: true };
    }),
    listQueuedFiles: unary(logger, () => ({ files: queue.list() })),
    clearQueuedFiles: unary(logger, async () => {
      await queue.clear();
      return { ok: true };
    }),
    queueFiles: unary(logger, async (req) => ({ files: await queue.add(req.paths, home) })),
    open: unary(logger, async (req) => {
      await openPath(req.path, req.app, { home, env }, apps);
      return { ok: true };
    }),
    exec: unary(logger, async (req, { signal }) => {
      const base64 = wantsBase64(req.outputEncoding);
      return execResponse(await execHost.run(execRequest(req), deps.execOutputLimit, {}, signal), base64);
    }),
    execStream: serverStream(logger, (req, { signal }) => flatten(execHost.stream(execRequest(req), signal))),
    listDirectory: unary(logger, (req) => listDirectory(req.path, home)),
    makeDirectory: unary(logger, async (req) => ({ ok: true, path: await makeDirectory(req.path, req.parents, home) })),
    deletePath: unary(logger, async (req) => {
      await deletePath(req.path, req.recursive, home);
      return { ok: true };
    }),
    movePath: unary(logger, async (req) => {
      await movePath(req.from, req.to, req.overwrite, home);
      return { ok: true };
    }),
    readFile: serverStream(logger, (req) => fileBodies(req.path, home)),
    writeFile: unary(logger, async (req) => {
      const data = req.body?.data ?? Buffer.alloc(0);
      return { path: await writeFileAtomic(rootedPath(req.path), data, req.parents, home), size: data.length };
    }),
    listApps: unary(logger, () => ({ apps: apps.list() })),
    launchApp: unary(logger, async (req) => {
      await apps.launch(req.bundleId);
      return { ok: true };
    }),
    activateApp: unary(logger, async (req) => {
      await apps.activate(req.bundleId);
      return { ok: true };
    }),
    quitApp: unary(logger, async (req) => {
      await apps.quit(req.bundleId);
      return { ok: true };
    }),
    getFrontmostApp: unary(logger, () => ({ bundleId: apps.frontmost() })),
  };
  return bindService("ghostd.agent.v1.GuestAgent", GuestAgentService, handlers, async () => {
    execHost.close();
    await apps.quitAll();
  });
}
