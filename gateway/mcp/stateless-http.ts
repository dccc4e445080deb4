import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { McpSurface, type McpOptions } from "./mcp-server";

/**
 * MCP over Streamable HTTP without sessions: each exchange gets a server and a transport of its
 * own over the shared tools and resources, closed once the answer is out, so nothing outlives a
 * request. Resources are read here but not subscribed to: there is no connection to notify on.
 */
export class StatelessMcpHttp {
  private readonly surface: McpSurface;

  constructor(options: McpOptions) {
    this.surface = new McpSurface(options);
  }

  /** Answers one JSON-RPC message, already read from `req`, on `res`. */
  async exchange(req: IncomingMessage, res: ServerResponse, message: unknown): Promise<void> {
    const server = this.surface.server({ subscriptions: false });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.once("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, message);
  }
}
