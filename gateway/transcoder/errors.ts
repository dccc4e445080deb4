import { Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { ErrorInfo } from "../../generated/google/rpc/error_details";
import { Status } from "../../generated/google/rpc/status";

/** An error on its way to an HTTP client, before a surface's dialect renders it. */
export interface HttpError {
  readonly status: number;
  /** Machine reason: the ErrorInfo reason, or the gateway's own (`invalid_json`, `not_found`...). */
  readonly reason: string;
  readonly message: string;
  /** The gRPC status code behind it, when it came from a call. */
  readonly grpcCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An error the gateway itself raises, before any call is made. */
export class GatewayError extends Error implements HttpError {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly grpcCode?: number,
  ) {
    super(message);
  }
}

const HTTP_BY_CODE: Record<number, number> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.UNKNOWN]: 500,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.INTERNAL]: 500,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DATA_LOSS]: 500,
};

/** grpc-gateway's mapping from gRPC codes to HTTP statuses. */
export function httpStatusOf(code: number): number {
  return HTTP_BY_CODE[code] ?? 500;
}

const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

/**
 * Whether an error is a failed call's, as grpc-js reports it: a numeric code beside the status's
 * details. ghostd's DomainError and the MCP SDK's McpError have numeric codes too, but no details.
 */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number" && typeof (err as Partial<ServiceError>).details === "string";
}

/** The google.rpc.ErrorInfo detail a failed call carries, if it carries one. */
export function errorInfoOf(err: ServiceError): ErrorInfo | undefined {
  // Calls that never reached a server (cancelled, unreachable) may carry no metadata at all.
  const metadata: unknown = err.metadata;
  const [details] = metadata instanceof Metadata ? metadata.get("grpc-status-details-bin") : [];
  if (!Buffer.isBuffer(details)) return undefined;
  try {
    const info = Status.decode(details).details.find((d) => d.typeUrl === ERROR_INFO_TYPE);
    return info ? ErrorInfo.decode(info.value) : undefined;
  } catch {
    return undefined;
  }
}

/** The reason a failed call gives in its google.rpc.ErrorInfo detail, if it gives one. */
export function reasonOf(err: ServiceError): string | undefined {
  return errorInfoOf(err)?.reason || undefined;
}

/**
 * A failed call as an HTTP error: the status comes from the surface's table for the reason when it
 * has one (seed 001's codes, the Host API's 408), else from the gRPC code.
 */
export function fromCallError(err: ServiceError, statusByReason: Readonly<Record<string, number>>): GatewayError {
  const code = typeof err.code === "number" ? err.code : GrpcStatus.UNKNOWN;
  const reason = reasonOf(err) ?? codeName(code);
  return new GatewayError(statusByReason[reason] ?? httpStatusOf(code), reason, err.details || codeName(code), {}, code);
}

/** `UNIMPLEMENTED` as a lowercase reason, `unimplemented`, for errors that carry none. */
export function codeName(code: number): string {
  return (GrpcStatus[code] ?? "UNKNOWN").toLowerCase();
}
