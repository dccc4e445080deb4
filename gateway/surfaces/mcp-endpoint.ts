import type { JsonValue } from "@bufbuild/protobuf";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Context } from "koa";
import { DEFAULT_MAX_OUTPUT_CHARS } from "../mcp/tool-calls";
import { McpSurface } from "../mcp/mcp-server";
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
 * as JSON by a server made for it over the surface's shared tools and resources, so nothing
 * outlives a request and no client can pile up sessions. There is no stream to GET, so GET and
 * DELETE are 405, and resources are read but not subscribed to here.
 */
export function mcpEndpoint(options: McpEndpointOptions): SurfaceEndpoint {
  return ({ contract, codec, upstream }) => {
    const mcp = new McpSurface({
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
      await exchange(ctx, mcp, message);
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
async function exchange(ctx: Context, mcp: McpSurface, message: unknown): Promise<void> {
  const server = mcp.server({ subscriptions: false });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  ctx.respond = false;
  ctx.res.once("close", () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(ctx.req, ctx.res, message);
}
