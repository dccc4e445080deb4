import type { PeerPolicy } from "../../server/peer-credentials";
import { SUPERVISOR, SUPERVISOR_PROGRESS, TERMINALS } from "../../server/rpc/service-names";
import { MCP_SERVICES } from "../mcp/mcp-services";
import { dashboard } from "./dashboard";
import { discoveryIndex } from "./documents";
import { reasonAndMessage, reasonAndMessageSchema } from "./error-dialects";
import { jsonBodiesOnly } from "./json-bodies";
import { localOnly } from "./local-only";
import { mcpEndpoint } from "./mcp-endpoint";
import { sameUser } from "./same-user";
import { deploySurface, type Surface, type SurfaceDescription } from "./surface";

export interface TerminalApiOptions {
  readonly maxBodyBytes: number;
  /** How long a client may take over its headers, and pause while sending a body. */
  readonly clientTimeoutMs: number;
  readonly allowRemote: boolean;
  /** Which users' loopback clients are served. */
  readonly peers: PeerPolicy;
  readonly version: string;
}

/**
 * The TCP surface on 127.0.0.1:19999: the Terminal API (v2 and the v1 `surfaces` paths) and the
 * supervisor's `/v1/...` routes, with proto field names and seed 001's error body.
 */
export const terminalApi: SurfaceDescription = {
  name: "terminal-api",
  services: [TERMINALS, SUPERVISOR, SUPERVISOR_PROGRESS],
  json: { protoNames: true },
  // Seed 001's codes all take the status their gRPC code maps to; a wait that timed out is a
  // 408 Request Timeout, as the Host API's exec timeout is.
  statusByReason: { wait_timeout: 408 },
  requestHeaders: [],
  responseHeaders: {},
  renderError: reasonAndMessage,
  indexes: [discoveryIndex("/api/v2", "2")],
  openApi: {
    title: "ghostd Terminal API and Supervisor",
    description: "Terminals (Terminal REST API v2 and v1 surfaces) and the supervisor's project routes.",
    servers: [{ url: "http://127.0.0.1:19999", description: "The default listener (`--http`)" }],
    errorSchema: reasonAndMessageSchema,
    errorStatuses: [
      { status: 400, description: "A bad request: `invalid_json`, `missing_field`, `invalid_uuid`, `invalid_location`, `invalid_action`, ..." },
      { status: 403, description: "Refused: another user, a foreign origin or host, `permission_denied`" },
      { status: 404, description: "`terminal_not_found`, `no_focused_terminal`, `NOT_FOUND`, or no such route" },
      { status: 408, description: "`wait_timeout`, or a client too slow to send its request" },
      { status: 409, description: "A project in the wrong state for it: `ALREADY_OPEN`, `ALREADY_RUNNING`, `CONFLICT`, ..." },
      { status: 413, description: "`body_too_large`", withBodyOnly: true },
      { status: 415, description: "`unsupported_media_type`: a body that is not application/json", withBodyOnly: true },
      { status: 500, description: "`action_failed`, `internal`, or another failure" },
      { status: 501, description: "`unimplemented`: a method not built yet" },
      { status: 503, description: "`unavailable`: the server behind the gateway cannot be reached" },
    ],
  },
};

export function terminalApiSurface(options: TerminalApiOptions): Surface {
  return deploySurface(terminalApi, {
    maxBodyBytes: options.maxBodyBytes,
    maxUploadBytes: options.maxBodyBytes,
    bodyIdleMs: options.clientTimeoutMs,
    version: options.version,
    // Any local user can connect, so the caller's user is checked first; browsers can reach
    // the listener too, so only its own origin, and JSON bodies, get through.
    before: [sameUser(options.peers), localOnly({ checkHost: !options.allowRemote }), jsonBodiesOnly()],
    // The dashboard, and MCP: the guest agent's tools run on this daemon's own VM, which the
    // listener's upstream serves.
    endpoints: [
      dashboard(),
      mcpEndpoint({ services: MCP_SERVICES, version: options.version, maxBodyBytes: options.maxBodyBytes, bodyIdleMs: options.clientTimeoutMs, renderError: reasonAndMessage }),
    ],
    // A silent or stalled client is answered 408 and dropped; a body that keeps coming is never
    // cut, so Node's whole-request bound (300 s, with an empty 408) is off.
    server: { headersTimeoutMs: options.clientTimeoutMs, requestTimeoutMs: 0 },
  });
}
