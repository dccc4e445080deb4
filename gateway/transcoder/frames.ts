import { create, type DescField, type DescOneof, type JsonObject, type JsonValue, type Message } from "@bufbuild/protobuf";
import { encodeRequest } from "../transport/method-calls";
import type { Contract } from "./descriptors";
import { GatewayError } from "./errors";
import { isObject, type JsonCodec } from "./json-codec";
import { fieldValue, setField } from "./message-fields";
import { decodeObject } from "./request";
import type { Route, WebSocketFrames } from "./routes";

/** One WebSocket message: text (a JSON document) or binary. */
export interface Frame {
  readonly data: string | Buffer;
  readonly binary: boolean;
}

type Fields = Record<string, unknown>;

function setMember(oneof: DescOneof, message: Message): { field: DescField; value: Message } | undefined {
  const chosen = (message as unknown as Fields)[oneof.localName] as { case?: string; value?: Message } | undefined;
  const field = oneof.fields.find((f) => f.localName === chosen?.case);
  return field && chosen?.value ? { field, value: chosen.value } : undefined;
}

/** An encoded request holding only `data` in a bytes field: a chunk of a tunnel or a streamed body. */
export function bytesRequest(route: Route, field: DescField, data: Buffer): Buffer {
  const message = create(route.method.input);
  setField(message, field, data);
  return encodeRequest(route.method, message);
}

/** The first message of a client stream: the upgrade request's message in its open field. */
export function openingMessage(route: Route, built: Message): Message {
  const open = route.webSocket?.open ?? route.streamUpgrade?.open ?? route.bodyStream?.open;
  if (!open) return built;
  const message = create(route.method.input);
  setField(message, open, built);
  return message;
}

/**
 * A client's frame as a request message: binary frames fill the mapped bytes field; text frames
 * are JSON, `{"type": member, ...}` for a mapped oneof, else the whole request. Anything else is
 * a 400 the connection survives.
 */
export function frameToRequest(contract: Contract, codec: JsonCodec, route: Route, frame: Frame): Message {
  const frames = route.webSocket;
  if (!frames || !route.clientStreaming) throw new GatewayError(400, "invalid_frame", "this WebSocket takes no messages from the client");
  if (frame.binary) {
    if (!frames.binaryIn) throw new GatewayError(400, "invalid_frame", "this WebSocket takes text frames only");
    const message = create(route.method.input);
    setField(message, frames.binaryIn, frame.data);
    return message;
  }
  const json = parseFrame(frame.data);
  if (!frames.textIn) return decodeObject(contract, codec, route.method.input, json);
  return controlMessage(contract, codec, route, frames.textIn, json);
}

function parseFrame(data: string | Buffer): JsonObject {
  let json: JsonValue;
  try {
    json = JSON.parse(data.toString()) as JsonValue;
  } catch (err) {
    throw new GatewayError(400, "invalid_json", `a text frame must be a JSON object: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw new GatewayError(400, "invalid_json", "a text frame must be a JSON object");
  return json;
}

function controlMessage(contract: Contract, codec: JsonCodec, route: Route, oneof: DescOneof, json: JsonObject): Message {
  const { type, ...rest } = json;
  const names = oneof.fields.map((f) => codec.key(f));
  const member = oneof.fields.find((f) => type === codec.key(f) || type === f.name || type === f.jsonName);
  if (!member || member.fieldKind !== "message") {
    throw new GatewayError(400, "invalid_frame", `a text frame's "type" must be one of ${names.map((n) => JSON.stringify(n)).join(", ")}; got ${JSON.stringify(type ?? null)}`);
  }
  const message = create(route.method.input);
  setField(message, member, decodeObject(contract, codec, member.message, rest));
  return message;
}

/** A reply as the frames it makes: its bytes as a binary frame, its mapped event as a text one; unmapped, the NDJSON line. */
export function replyToFrames(codec: JsonCodec, route: Route, reply: Message): Frame[] {
  const frames = route.webSocket;
  if (!frames || (!frames.binaryOut && !frames.textOut)) {
    return [{ data: JSON.stringify({ result: codec.encode(route.method.output, reply) }), binary: false }];
  }
  return [...binaryFrame(frames, reply), ...eventFrame(codec, frames, reply)];
}

function binaryFrame(frames: WebSocketFrames, reply: Message): Frame[] {
  const bytes = frames.binaryOut ? fieldValue(reply, frames.binaryOut) : undefined;
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return [];
  return [{ data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), binary: true }];
}

function eventFrame(codec: JsonCodec, frames: WebSocketFrames, reply: Message): Frame[] {
  const event = frames.textOut ? setMember(frames.textOut, reply) : undefined;
  if (!event || event.field.fieldKind !== "message") return [];
  const json = codec.encode(event.field.message, event.value);
  return [{ data: JSON.stringify({ type: codec.key(event.field), ...(isObject(json) ? json : {}) }), binary: false }];
}

/** An error as a text frame: in the mapped event shape (`"type": "error"`) or as the NDJSON stream's last line. */
export function errorFrame(route: Route, rendered: JsonValue): Frame {
  const data = route.webSocket?.textOut && isObject(rendered) ? { type: "error", ...rendered } : { error: rendered };
  return { data: JSON.stringify(data), binary: false };
}
