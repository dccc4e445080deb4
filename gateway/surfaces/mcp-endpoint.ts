import type { JsonValue } from "@bufbuild/protobuf";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Context } from "koa";
import { DEFAULT_MAX_OUTPUT_CHARS } from "../mcp/tool-calls";
import { McpToolset } from "../mcp/mcp-server";
import { readBody } from "../transcoder/body";
import { GatewayError, type HttpError } from "../transcoder/errors";
import type { SurfaceEndpoint } from "./surface";

export const MCP_PATH = "/mcp";

export interface McpEndpointOptions {
  /** The services whose tools it offers: those the surface's upstream serves. */
  readonly services: readonly string[];
  readonly version: string;
  readonly maxBodyBytes: number;
  /** How long a request body may pause. */
  readonly bodyIdleMs: number;
  readonly renderError: (error: HttpError) => JsonValue;
}

/**
 * ghostd's MCP server over Streamable HTTP at `/mcp`, on the surface's guards like every route
 * (same user, loopback Host, no foreign Origin). Stateless: each POST is one exchange, answered
 * as JSON, with a server made for it over the surface's shared toolset, so nothing outlives a
 * request and no client can pile up sessions. There is no stream to GET, so GET and DELETE are 405.
 */
export function mcpEndpoint(options: McpEndpointOptions): SurfaceEndpoint {
  return ({ contract, codec, upstream }) => {
    const toolset = new McpToolset({
      contract,
      codec,
      upstream,
      renderError: options.renderError,
      maxOutputChars: DEFAULT_MAX_OUTPUT_CHARS,
      services: options.services,
      version: options.version,
    });
    return async (ctx, next) => {
      if (ctx.path !== MCP_PATH) {
        await next();
        return;
      }
      if (ctx.method !== "POST") throw new GatewayError(405, "method_not_allowed", `${ctx.method} is not allowed on ${MCP_PATH}; MCP over Streamable HTTP takes POST here (stateless, no stream to GET)`, { Allow: "POST" });
      const message = await readMessage(ctx, options);
      await exchange(ctx, toolset, message);
    };
  };
}

async function readMessage(ctx: Context, options: McpEndpointOptions): Promise<unknown> {
  const body = await readBody(ctx.req, options.maxBodyBytes, options.bodyIdleMs);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new GatewayError(400, "invalid_json", `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** One JSON-RPC exchange: a server and transport for it alone, closed once the answer is out. */
async function exchange(ctx: Context, toolset: McpToolset, message: unknown): Promise<void> {
  const server = toolset.server();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  ctx.respond = false;
  ctx.res.once("close", () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(ctx.req, ctx.res, message);
}
