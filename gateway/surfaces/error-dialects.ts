import type { JsonObject } from "@bufbuild/protobuf";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { HttpError } from "../transcoder/errors";

/** Terminal API v2 and supervisor HTTP: `{"error": "<reason>", "message": "<human text>"}`. */
export function reasonAndMessage(error: HttpError): JsonObject {
  return { error: error.reason, message: error.message };
}

export const reasonAndMessageSchema: JsonObject = {
  type: "object",
  required: ["error", "message"],
  properties: { error: { type: "string", description: "Machine reason" }, message: { type: "string" } },
};

/**
 * Host API: `{"error": "<human text>", "code": "<reason>"}`, since GhostVM's clients read `error`
 * as the message. When the guest cannot be reached (503), `"status": "unreachable"` says so, as
 * the health endpoint's clients expect; a tunnel's guest port that refuses (502) is not that.
 */
export function messageAndCode(error: HttpError): JsonObject {
  const body: JsonObject = { error: error.message, code: error.reason };
  if (error.grpcCode === GrpcStatus.UNAVAILABLE && error.status === 503) body.status = "unreachable";
  return body;
}

export const messageAndCodeSchema: JsonObject = {
  type: "object",
  required: ["error", "code"],
  properties: {
    error: { type: "string", description: "Human-readable message" },
    code: { type: "string", description: "Machine reason" },
    status: { type: "string", enum: ["unreachable"] },
  },
};
