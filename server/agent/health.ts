import type { HealthResponse } from "../../generated/ghostd/agent/v1/agent";

/** The agent answers and its exec host does (the caller waited for it); the version tells clients what they talk to. */
export function agentHealth(version: string): HealthResponse {
  return { status: "ok", version };
}
