import { ScalarType, type DescField, type DescMessage, type DescMethod, type DescOneof } from "@bufbuild/protobuf";
import type { BodyStream, StreamUpgrade, WebSocketRule } from "../../generated/ghostd/options/v1/options";
import { headerField, type HeaderField } from "./header-fields";
import { RouteError } from "./route-error";

/** A method's WebSocket frame mapping, its names resolved to fields (see ghostd.options.v1.WebSocketRule). */
export interface WebSocketFrames {
  /** The request field the upgrade request fills, as the first message of a client stream. */
  readonly open: DescField | undefined;
  readonly binaryIn: DescField | undefined;
  readonly textIn: DescOneof | undefined;
  readonly binaryOut: DescField | undefined;
  readonly textOut: DescOneof | undefined;
}

/** A method's stream_upgrade rule, its names resolved: what opens it and which bytes fields carry the stream. */
export interface StreamUpgradeBinding {
  /** Lowercase Upgrade tokens. */
  readonly protocols: readonly string[];
  /** Request headers (as the rule spells them) and the scalar fields of the opening message they fill. */
  readonly headers: readonly HeaderField[];
  readonly open: DescField;
  readonly dataIn: DescField;
  readonly dataOut: DescField;
  /** The bool response field that says the server has finished sending. */
  readonly endOut: DescField | undefined;
}

function where(method: DescMethod): string {
  return `${method.parent.typeName}.${method.name}`;
}

/** The websocket rule's names as fields and oneofs of the method's messages, each of the kind its role needs. */
export function webSocketFrames(method: DescMethod, rule: WebSocketRule): WebSocketFrames {
  const at = `${where(method)} websocket`;
  if (method.methodKind === "unary") throw new RouteError(`${at}: a unary method has no stream to carry`);
  const clientStreaming = method.methodKind !== "server_streaming";
  for (const [name, value] of Object.entries({ open: rule.open, binary_in: rule.binaryIn, text_in: rule.textIn })) {
    if (value && !clientStreaming) throw new RouteError(`${at}: ${name} needs a client stream`);
  }
  const open = rule.open ? messageField(method.input, rule.open, `${at} open`) : undefined;
  if (clientStreaming && !open) throw new RouteError(`${at}: a client stream needs the open field its upgrade request fills`);
  return {
    open,
    binaryIn: rule.binaryIn ? bytesField(method.input, rule.binaryIn, `${at} binary_in`) : undefined,
    textIn: rule.textIn ? messageOneof(method.input, rule.textIn, `${at} text_in`) : undefined,
    binaryOut: rule.binaryOut ? bytesField(method.output, rule.binaryOut, `${at} binary_out`) : undefined,
    textOut: rule.textOut ? messageOneof(method.output, rule.textOut, `${at} text_out`) : undefined,
  };
}

function messageField(message: DescMessage, name: string, at: string): DescField {
  const field = message.fields.find((f) => f.name === name);
  if (field?.fieldKind !== "message") throw new RouteError(`${at}: ${message.typeName} has no message field ${name}`);
  return field;
}

function bytesField(message: DescMessage, name: string, at: string): DescField {
  const field = message.fields.find((f) => f.name === name);
  if (field?.fieldKind !== "scalar" || field.scalar !== ScalarType.BYTES) throw new RouteError(`${at}: ${message.typeName} has no bytes field ${name}`);
  return field;
}

function messageOneof(message: DescMessage, name: string, at: string): DescOneof {
  const oneof = message.oneofs.find((o) => o.name === name);
  if (!oneof) throw new RouteError(`${at}: ${message.typeName} has no oneof ${name}`);
  const notMessage = oneof.fields.find((f) => f.fieldKind !== "message");
  if (notMessage) throw new RouteError(`${at}: ${oneof.name}.${notMessage.name} is not a message, which a text frame's JSON object needs`);
  return oneof;
}


/** The stream_upgrade rule's names as fields, each of the kind its role needs. */
export function streamUpgradeBinding(method: DescMethod, rule: StreamUpgrade): StreamUpgradeBinding {
  const at = `${where(method)} stream_upgrade`;
  if (method.methodKind !== "bidi_streaming") throw new RouteError(`${at}: a byte stream both ways needs a bidi-streaming method`);
  if (rule.protocols.length === 0) throw new RouteError(`${at}: it names no Upgrade protocol`);
  const open = messageField(method.input, rule.open, `${at} open`);
  const headers = rule.headerFields.map((mapping) => headerField(open.message, mapping, at));
  return {
    protocols: rule.protocols.map((p) => p.toLowerCase()),
    headers,
    open,
    dataIn: bytesField(method.input, rule.dataIn, `${at} data_in`),
    dataOut: bytesField(method.output, rule.dataOut, `${at} data_out`),
    endOut: rule.endOut ? boolField(method.output, rule.endOut, `${at} end_out`) : undefined,
  };
}

function boolField(message: DescMessage, name: string, at: string): DescField {
  const field = message.fields.find((f) => f.name === name);
  if (field?.fieldKind !== "scalar" || field.scalar !== ScalarType.BOOL) throw new RouteError(`${at}: ${message.typeName} has no bool field ${name}`);
  return field;
}

/** A method's body_stream rule, its names resolved: what opens it and which bytes field each chunk fills. */
export interface BodyStreamBinding {
  readonly headers: readonly HeaderField[];
  readonly open: DescField;
  readonly dataIn: DescField;
}

/** The body_stream rule's names as fields, each of the kind its role needs. */
export function bodyStreamBinding(method: DescMethod, rule: BodyStream): BodyStreamBinding {
  const at = `${where(method)} body_stream`;
  if (method.methodKind !== "client_streaming") throw new RouteError(`${at}: a streamed body needs a client-streaming method`);
  const open = messageField(method.input, rule.open, `${at} open`);
  return {
    headers: rule.headerFields.map((mapping) => headerField(open.message, mapping, at)),
    open,
    dataIn: bytesField(method.input, rule.dataIn, `${at} data_in`),
  };
}
