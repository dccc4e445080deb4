import type { DescMethod, JsonObject, JsonValue, Message } from "@bufbuild/protobuf";
import { status as GrpcStatus, type Client } from "@grpc/grpc-js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Contract } from "../transcoder/descriptors";
import { fromCallError, GatewayError, isServiceError, type HttpError } from "../transcoder/errors";
import { isObject, type JsonCodec } from "../transcoder/json-codec";
import { isHttpBodyField } from "../transcoder/routes";
import { encodeRequest } from "../transport/method-calls";
import { boundOutput } from "./bounded-output";
import { callForReply, type MethodReply } from "./method-reply";
import { toolRequest } from "./tool-arguments";
import type { ToolEntry } from "./tool-table";

export interface ToolCallOptions {
  readonly contract: Contract;
  readonly codec: JsonCodec;
  readonly upstream: () => Client;
  /** How a failure reads: the HTTP surface's error body, so an agent sees the reasons a script does. */
  readonly renderError: (error: HttpError) => JsonValue;
  /** Characters a tool's output may take; past them it is cut, and says so. */
  readonly maxOutputChars: number;
  /** What a call that reached no server says, when the caller knows better than gRPC's words (no daemon runs at the target). */
  readonly unreachable?: string;
}

/** Output bound: about 6,000 tokens, enough for a screen, a file's start or a log's tail. */
export const DEFAULT_MAX_OUTPUT_CHARS = 24_000;

/**
 * Calls a tool's method and answers as MCP does: the reply as JSON text, with a note first when
 * something was cut; a failure as an error result carrying the surface's error body. A failure is
 * the tool's answer, never a protocol error, so the model reads the reason and can act on it.
 */
export async function callTool(options: ToolCallOptions, entry: ToolEntry, args: JsonValue | undefined, signal: AbortSignal): Promise<CallToolResult> {
  let reply: MethodReply;
  try {
    const request = toolRequest(options.contract, options.codec, entry, args);
    reply = await callForReply(options.upstream(), entry.method, encodeRequest(entry.method, request), signal);
  } catch (err) {
    return failure(options, err);
  }
  const json = present(options.codec, entry.method, reply.message);
  const { value, cuts } = boundOutput(json, options.maxOutputChars, entry.option.keepEnd);
  const notes = [...cuts];
  if (reply.streamCutAt !== undefined) notes.unshift(`the reply was read only to its first ${reply.streamCutAt.toLocaleString("en-US")} bytes`);
  const text = JSON.stringify(value);
  if (notes.length === 0) return { content: [{ type: "text", text }] };
  const note = `[output cut to fit ${options.maxOutputChars.toLocaleString("en-US")} characters: ${notes.join("; ")}]`;
  return { content: [{ type: "text", text: note }, { type: "text", text }] };
}

function failure(options: ToolCallOptions, err: unknown): CallToolResult {
  let error = err instanceof GatewayError ? err : isServiceError(err) ? fromCallError(err, {}) : undefined;
  if (!error) throw err;
  if (options.unreachable !== undefined && error.grpcCode === GrpcStatus.UNAVAILABLE && error.reason === "unavailable") {
    error = new GatewayError(error.status, error.reason, options.unreachable, {}, error.grpcCode);
  }
  return { isError: true, content: [{ type: "text", text: JSON.stringify(options.renderError(error)) }] };
}

/** The reply as the HTTP surface writes it, file content as text (base64 when it is not UTF-8). */
function present(codec: JsonCodec, method: DescMethod, message: Message): JsonValue {
  const json = codec.encode(method.output, message);
  if (!isObject(json)) return json;
  for (const field of method.output.fields) {
    if (!isHttpBodyField(field)) continue;
    const key = codec.key(field);
    const body = (message as unknown as Record<string, { contentType?: string; data?: Uint8Array } | undefined>)[field.localName];
    if (body) json[key] = bodyAsText(body.contentType ?? "", Buffer.from(body.data ?? new Uint8Array()));
  }
  return json;
}

function bodyAsText(contentType: string, data: Buffer): JsonObject {
  const text = new TextDecoder("utf-8", { fatal: true });
  try {
    return { content_type: contentType, size: data.length, text: text.decode(data) };
  } catch {
    return { content_type: contentType, size: data.length, base64: data.toString("base64") };
  }
}
