import type { JsonValue } from "@bufbuild/protobuf";
// McpServer takes tools as zod schemas; tools whose JSON Schemas come from the contract are the
// "advanced use case" the SDK keeps the low-level Server for, deprecation mark notwithstanding.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { serveResources } from "./resource-handlers";
import { resourceTable } from "./resource-table";
import { ResourceReader } from "./resources";
import { callTool, type ToolCallOptions } from "./tool-calls";
import { toolTable, type ToolEntry } from "./tool-table";

export interface McpOptions extends ToolCallOptions {
  /** The services whose marked methods are tools. */
  readonly services: readonly string[];
  /** ghostd's release, as the server's version. */
  readonly version: string;
}

/** What a model is told once, at initialisation: how the tools fit together. */
const INSTRUCTIONS = [
  "ghostd runs real terminals, commands, files and compose-based app projects on this machine.",
  "To run a command and learn its exit status: terminal_create, then terminal_input with enter=true, then terminal_wait with until=prompt (or a match); terminal_read shows the screen.",
  "exec runs one command without a shell or terminal and returns its output. Long outputs are cut, and a note says what was cut.",
  "Projects: project_ensure registers one, project_open prepares it, project_start and project_stop run it; project_logs and project_status show it.",
].join(" ");

/** The tools and resources of the contract, worked out once per surface and shared by every server made from it. */
export class McpSurface {
  readonly entries: readonly ToolEntry[];
  private readonly byName: ReadonlyMap<string, ToolEntry>;
  private readonly resources: ResourceReader;
  private readonly running = new Set<Promise<unknown>>();

  constructor(readonly options: McpOptions) {
    this.entries = toolTable(options.contract, options.codec, options.services);
    this.byName = new Map(this.entries.map((entry) => [entry.tool.name, entry]));
    this.resources = new ResourceReader(resourceTable(options.contract, options.services), options);
  }

  /**
   * A new MCP server, for one connection (stdio) or one request (stateless HTTP). Resource
   * subscriptions only where it lives long enough to send a notification.
   */
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  server(options: { subscriptions: boolean }): Server {
    const capabilities = { tools: { listChanged: false }, resources: { subscribe: options.subscriptions, listChanged: false } };
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const server = new Server({ name: "ghostd", version: this.options.version }, { capabilities, instructions: INSTRUCTIONS });
    serveResources(server, this.resources, options.subscriptions);
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: this.entries.map((entry) => entry.tool) }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const entry = this.byName.get(request.params.name);
      if (!entry) throw new McpError(ErrorCode.InvalidParams, `no tool is named "${request.params.name}"; tools/list names them`);
      const call = callTool(this.options, entry, request.params.arguments as JsonValue | undefined, extra.signal);
      this.running.add(call);
      void call.finally(() => this.running.delete(call)).catch(() => undefined);
      return call;
    });
    return server;
  }

  /** Resolves once every tool call under way has answered: a client may end its input before reading the last answer. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    // The SDK writes an answer in a callback of its own after the call resolves.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
