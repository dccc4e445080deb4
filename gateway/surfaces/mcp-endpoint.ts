import type { JsonValue } from "@bufbuild/protobuf";
import type { StatelessMcpHttp } from "../mcp/stateless-http";
import { readBody } from "../transcoder/body";
import { parseJson } from "../transcoder/request";
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
 * (same user, loopback Host, no foreign Origin). Stateless (StatelessMcpHttp): each POST is one
 * exchange, answered as JSON, so no client can pile up sessions. There is no stream to GET, so
 * GET and DELETE are 405.
 */
export function mcpEndpoint(options: McpEndpointOptions): SurfaceEndpoint {
  return ({ contract, codec, upstream }) => {
    // The SDK takes about 175 ms to load and the tools a few more to build: a daemon pays for
    // them at its first MCP request, not at every start.
    let loading: Promise<StatelessMcpHttp> | undefined;
    const load = async (): Promise<StatelessMcpHttp> => {
      const [{ StatelessMcpHttp }, { DEFAULT_MAX_OUTPUT_CHARS }] = await Promise.all([import("../mcp/stateless-http.js"), import("../mcp/tool-calls.js")]);
      const { renderError, services, version } = options;
      return new StatelessMcpHttp({ contract, codec, upstream, renderError, maxOutputChars: DEFAULT_MAX_OUTPUT_CHARS, services, version });
    };
    return async (ctx, next) => {
      if (ctx.path !== MCP_PATH) {
        await next();
        return;
      }
      if (ctx.method !== "POST") throw new GatewayError(405, "method_not_allowed", `${ctx.method} is not allowed on ${MCP_PATH}; MCP over Streamable HTTP takes POST here (stateless, no stream to GET)`, { Allow: "POST" });
      const message = parseJson(await readBody(ctx.req, options.maxBodyBytes, options.bodyIdleMs));
      const mcp = await (loading ??= load());
      ctx.respond = false;
      await mcp.exchange(ctx.req, ctx.res, message);
    };
  };
}
