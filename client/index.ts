import createClient, { type Client } from "openapi-fetch";
import { Agent, fetch as undiciFetch } from "undici";
import type { paths as HostApiPaths } from "../generated/openapi/host-api";
import type { paths as TerminalApiPaths } from "../generated/openapi/terminal-api";

/**
 * Typed HTTP clients for ghostd's two HTTP surfaces, what grpc-gateway-ts would generate for them:
 * openapi-fetch over the types openapi-typescript writes from the OpenAPI documents the daemon
 * serves (generated/openapi/). A call with a missing required field, an unknown path or a value
 * outside an enum does not compile.
 */
export type { HostApiPaths, TerminalApiPaths };
export type TerminalApiClient = Client<TerminalApiPaths>;
export type HostApiClient = Client<HostApiPaths> & {
  /** Closes the client's connection pool; requests already answered are unaffected. */
  close(): Promise<void>;
};

/** Where `ghostd serve` answers the Terminal API and the supervisor's routes unless told otherwise. */
export const DEFAULT_TERMINAL_API = "http://127.0.0.1:19999";

export interface TerminalApiOptions {
  /** `http://host:port` of the listener; the daemon's `--http`, 127.0.0.1:19999 by default. */
  readonly baseUrl?: string;
}

/** The Terminal API v2, the v1 `surfaces` paths and the supervisor's `/v1/...` routes, over TCP. */
export function terminalApi(options: TerminalApiOptions = {}): TerminalApiClient {
  return createClient<TerminalApiPaths>({ baseUrl: options.baseUrl ?? DEFAULT_TERMINAL_API });
}

export interface HostApiOptions {
  /** A VM's Host API socket, `<host-api-dir>/<vm>.GhostVM.sock`. */
  readonly socketPath: string;
}

/**
 * The Host API over a VM's Unix socket. Node's own fetch cannot dial a socket, so requests go
 * through undici's, with an Agent connected to the socket; the server closes every connection
 * after one answer, and undici opens the next one.
 */
export function hostApi(options: HostApiOptions): HostApiClient {
  const agent = new Agent({ connect: { socketPath: options.socketPath } });
  const client = createClient<HostApiPaths>({ baseUrl: "http://localhost", fetch: (request) => overAgent(agent, request), pathSerializer: slashesKept });
  return Object.assign(client, { close: () => agent.close() });
}

/**
 * Sends a request built by openapi-fetch (one of Node's global Request objects) through undici's
 * fetch and agent, and hands back a global Response: the two fetch implementations do not take
 * each other's objects.
 */
async function overAgent(agent: Agent, request: Request): Promise<Response> {
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const reply = await undiciFetch(request.url, { method: request.method, headers: headerPairs(request.headers), body, signal: request.signal, dispatcher: agent });
  return new Response(reply.body as ReadableStream<Uint8Array> | null, { status: reply.status, statusText: reply.statusText, headers: [...reply.headers] });
}

/** forEach, not iteration: the DOM's Headers type (which @xterm/xterm's typings bring in) declares no iterator. */
function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return pairs;
}

/**
 * The Host API's one path variable is a file path spanning segments (`/api/v1/files/{path=**}`),
 * where google.api.http keeps an encoded slash encoded: so each piece between slashes is encoded
 * and the slashes travel as they are (`etc/hosts`, not `etc%2Fhosts`).
 */
function slashesKept(pathname: string, params: Record<string, unknown>): string {
  return pathname.replace(/\{([^{}]+)\}/g, (variable, name: string) => {
    const value = params[name];
    if (typeof value !== "string" && typeof value !== "number") return variable;
    return String(value).split("/").map(encodeURIComponent).join("/");
  });
}
