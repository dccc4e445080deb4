import { GUEST_AGENT, SUPERVISOR, TERMINALS } from "../../server/rpc/service-names";

/**
 * The services whose marked methods are tools, in the order tools are listed: terminals first,
 * what an agent reaches for most. The guest agent's are the daemon's own VM's.
 */
export const MCP_SERVICES: readonly string[] = [TERMINALS, GUEST_AGENT, SUPERVISOR];
