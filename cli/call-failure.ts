import { status as GrpcStatus } from "@grpc/grpc-js";
import { codeName, errorInfoOf, isServiceError } from "../gateway/transcoder/errors";
import { DomainError } from "../server/errors";

/**
 * What a failed ghostctl command tells its user: what is wrong and what to do. A call the server
 * answered gives its message with the gRPC code's name, the reason and the finer cause from its
 * ErrorInfo; a call that reached no server says no daemon runs there, and how to start or find one.
 * `target` is asked for only then: an error may be a target that does not parse.
 */
export function describeFailure(err: unknown, target: () => string): string {
  // A local check (ghostctl package verify) fails as the daemon would, with its reason and the entry.
  if (err instanceof DomainError) return `${err.message} (${[err.reason, ...Object.entries(err.metadata).map(([key, value]) => `${key} ${value}`)].join(", ")})`;
  if (!isServiceError(err)) return err instanceof Error ? err.message : String(err);
  const info = errorInfoOf(err);
  if (err.code === GrpcStatus.UNAVAILABLE && !info) return notRunning(target());
  const code = codeName(err.code).toUpperCase();
  const labels = [code, ...(info?.reason && info.reason !== code ? [info.reason] : []), ...Object.entries(info?.metadata ?? {}).map(([key, value]) => `${key} ${value}`)];
  return `${err.details || code} (${labels.join(", ")})`;
}

export function notRunning(target: string): string {
  const local = target.startsWith("unix:");
  const start = local ? 'start it with "npm start" in the ghostd checkout (or "ghostd serve")' : "start the daemon there, or check the address";
  return `ghostd is not running on ${target}; ${start}, or point ghostctl at a running one with --home DIR or --target ADDRESS`;
}
