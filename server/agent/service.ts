import type { Logger } from "pino";
import { GuestAgentService, type HealthRequest, type HealthResponse } from "../../generated/ghostd/agent/v1/agent";
import { bindService, unary, type ServiceBinding } from "../rpc/bind";
import { agentHealth } from "./health";

export interface AgentDeps {
  readonly logger: Logger;
  readonly version: string;
}

/** gRPC binding of ghostd.agent.v1.GuestAgent. */
export function agentService(deps: AgentDeps): ServiceBinding {
  return bindService("ghostd.agent.v1.GuestAgent", GuestAgentService, {
    health: unary<HealthRequest, HealthResponse>(deps.logger, () => agentHealth(deps.version)),
  });
}
