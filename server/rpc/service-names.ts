import type { ServiceDefinition } from "@grpc/grpc-js";
import { GuestAgentService } from "../../generated/ghostd/agent/v1/agent";
import { SupervisorProgressService } from "../../generated/ghostd/supervisor/v1/progress";
import { SupervisorService } from "../../generated/ghostd/supervisor/v1/supervisor";
import { TerminalsService } from "../../generated/ghostd/terminal/v1/terminal";

/**
 * The fully qualified name of the service a generated definition describes, read from its methods'
 * paths (`/ghostd.supervisor.v1.Supervisor/EnsureProject`) so that no name is written by hand
 * beside the proto that declares it.
 */
export function serviceNameOf(definition: ServiceDefinition): string {
  const [method] = Object.values(definition);
  if (!method) throw new Error("a service definition without methods names no service");
  return method.path.slice(1, method.path.lastIndexOf("/"));
}

/** `ghostd.supervisor.v1.Supervisor` */
export const SUPERVISOR = serviceNameOf(SupervisorService);
/** `ghostd.supervisor.v1.SupervisorProgress` */
export const SUPERVISOR_PROGRESS = serviceNameOf(SupervisorProgressService);
/** `ghostd.agent.v1.GuestAgent` */
export const GUEST_AGENT = serviceNameOf(GuestAgentService);
/** `ghostd.terminal.v1.Terminals` */
export const TERMINALS = serviceNameOf(TerminalsService);

/** Every service ghostd serves, in the order ghostctl lists them. */
export const GHOSTD_SERVICES: readonly string[] = [SUPERVISOR, SUPERVISOR_PROGRESS, GUEST_AGENT, TERMINALS];
