import { Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ErrorInfo } from "../../generated/google/rpc/error_details";
import { Status } from "../../generated/google/rpc/status";
import { boundedText, wellFormed } from "../bounded-text";
import { Code, DomainError } from "../errors";

export const ERROR_DOMAIN = "ghostd";

/**
 * A handler's failure as a gRPC status: a DomainError keeps its code and travels with its reason
 * in a google.rpc.ErrorInfo (`grpc-status-details-bin`); anything else is logged and becomes
 * INTERNAL with no detail of ours leaking out.
 */
export function toServiceError(err: unknown, logger: Logger, method: string): Partial<ServiceError> {
  if (err instanceof DomainError) {
    // A client's mistake, not the daemon's: told at debug level, for whoever traces a client.
    logger.debug({ method, reason: err.reason, message: err.message }, "call failed");
    return statusError(grpcStatusOf(err.code), err.reason, err.message, err.metadata);
  }
  logger.error({ err, method }, "handler failed");
  return statusError(GrpcStatus.INTERNAL, "internal", "internal error");
}

/** google.rpc.Code and gRPC's status codes name the same codes. */
function grpcStatusOf(code: Code): GrpcStatus {
  const name = Code[code];
  return name in GrpcStatus ? GrpcStatus[name as keyof typeof GrpcStatus] : GrpcStatus.UNKNOWN;
}

/**
 * An error's text travels twice in HTTP/2 trailers (grpc-message and the details), which a
 * client refuses past its header limit (8 KiB by default) by tearing the connection down: a
 * message echoing a 100 KB value stalled every call on the channel. Long values are cut here.
 */
const MAX_MESSAGE_CHARS = 1024;
const MAX_METADATA_CHARS = 256;

export function statusError(code: GrpcStatus, reason: string, fullMessage: string, fullMetadata: Readonly<Record<string, string>> = {}): Partial<ServiceError> {
  const message = boundedText(wellFormed(fullMessage), MAX_MESSAGE_CHARS);
  const metadata = Object.fromEntries(Object.entries(fullMetadata).map(([key, value]) => [key, boundedText(wellFormed(value), MAX_METADATA_CHARS)]));
  const info = ErrorInfo.encode({ reason, domain: ERROR_DOMAIN, metadata }).finish();
  const details = Status.encode({
    code,
    message,
    details: [{ typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from(info) }],
  }).finish();
  const trailers = new Metadata();
  trailers.set("grpc-status-details-bin", Buffer.from(details));
  return { code, details: message, metadata: trailers };
}
