import {
  createFileRegistry,
  fromBinary,
  getExtension,
  hasExtension,
  toBinary,
  type DescEnumValue,
  type DescExtension,
  type DescField,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type Message,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { FieldBehavior } from "../../generated/google/api/field_behavior";
import { HttpRule } from "../../generated/google/api/http";
import { BodyStream, McpResource, McpTool, StreamUpgrade, WebSocketRule } from "../../generated/ghostd/options/v1/options";

/**
 * A contract read from a FileDescriptorSet: the registry of its types plus the nine options the
 * gateway reads (HTTP rules, WebSocket, stream upgrade and body stream rules, MCP tools and
 * resources, required fields, JSON spellings of enum values, the fixed values of string fields). The gateway works from
 * descriptors alone so that it can serve any annotated service, the test fixture included.
 */
export interface Contract {
  readonly registry: FileRegistry;
  service(name: string): DescService;
  httpRule(method: DescMethod): HttpRule | undefined;
  /** How a streaming method is served as a WebSocket (`ghostd.options.v1.websocket`), if it is. */
  webSocketRule(method: DescMethod): WebSocketRule | undefined;
  /** How a bidi method is served as raw bytes behind an HTTP upgrade (`ghostd.options.v1.stream_upgrade`), if it is. */
  streamUpgradeRule(method: DescMethod): StreamUpgrade | undefined;
  /** How a client-streaming method takes a request body as a stream (`ghostd.options.v1.body_stream`), if it does. */
  bodyStreamRule(method: DescMethod): BodyStream | undefined;
  /** The MCP tool a method is offered as (`ghostd.options.v1.mcp_tool`), if it is one. */
  mcpTool(method: DescMethod): McpTool | undefined;
  /** The MCP resource a method's answer is offered as (`ghostd.options.v1.mcp_resource`), if it is one. */
  mcpResource(method: DescMethod): McpResource | undefined;
  isRequired(field: DescField): boolean;
  jsonValue(value: DescEnumValue): string | undefined;
  /** The values a string field is limited to (`ghostd.options.v1.allowed_values`); empty when any. */
  allowedValues(field: DescField): readonly string[];
}

const HTTP_RULE = "google.api.http";
const FIELD_BEHAVIOR = "google.api.field_behavior";
const JSON_VALUE = "ghostd.options.v1.json_value";
const ALLOWED_VALUES = "ghostd.options.v1.allowed_values";
const WEBSOCKET = "ghostd.options.v1.websocket";
const STREAM_UPGRADE = "ghostd.options.v1.stream_upgrade";
const BODY_STREAM = "ghostd.options.v1.body_stream";
const MCP_TOOL = "ghostd.options.v1.mcp_tool";
const MCP_RESOURCE = "ghostd.options.v1.mcp_resource";

export function loadContract(descriptorSet: Uint8Array): Contract {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
  const behavior = registry.getExtension(FIELD_BEHAVIOR);
  const jsonValue = registry.getExtension(JSON_VALUE);
  const allowed = registry.getExtension(ALLOWED_VALUES);
  // Re-read through ts-proto's types so the rest of the gateway works with generated types.
  const httpRule = methodOption(registry.getExtension(HTTP_RULE), HttpRule);
  const webSocketRule = methodOption(registry.getExtension(WEBSOCKET), WebSocketRule);
  const streamUpgradeRule = methodOption(registry.getExtension(STREAM_UPGRADE), StreamUpgrade);
  const bodyStreamRule = methodOption(registry.getExtension(BODY_STREAM), BodyStream);
  const mcpTool = methodOption(registry.getExtension(MCP_TOOL), McpTool);
  const mcpResource = methodOption(registry.getExtension(MCP_RESOURCE), McpResource);
  return {
    registry,
    service(name) {
      const service = registry.getService(name);
      if (!service) throw new Error(`the contract has no service ${name}`);
      return service;
    },
    httpRule,
    webSocketRule,
    streamUpgradeRule,
    bodyStreamRule,
    mcpTool,
    mcpResource,
    isRequired(field) {
      const options = field.proto.options;
      if (!behavior || !options || !hasExtension(options, behavior)) return false;
      return (getExtension(options, behavior) as number[]).includes(FieldBehavior.REQUIRED);
    },
    jsonValue(value) {
      const options = value.proto.options;
      if (!jsonValue || !options || !hasExtension(options, jsonValue)) return undefined;
      return extensionString(jsonValue, getExtension(options, jsonValue));
    },
    allowedValues(field) {
      const options = field.proto.options;
      if (!allowed || !options || !hasExtension(options, allowed)) return [];
      const values = getExtension(options, allowed);
      if (!Array.isArray(values) || !values.every((v) => typeof v === "string")) throw new Error(`${ALLOWED_VALUES} must be repeated strings`);
      return values;
    },
  };
}

/** A method option whose value is a message, read as the ts-proto type `codec` decodes. */
function methodOption<T>(ext: DescExtension | undefined, codec: { decode(bytes: Uint8Array): T }): (method: DescMethod) => T | undefined {
  return (method) => {
    if (ext?.fieldKind !== "message") return undefined;
    const options = method.proto.options;
    if (!options || !hasExtension(options, ext)) return undefined;
    return codec.decode(toBinary(ext.message, getExtension(options, ext) as Message));
  };
}

function extensionString(ext: DescExtension, value: unknown): string {
  if (typeof value !== "string") throw new Error(`${ext.typeName} must be a string option`);
  return value;
}

/** Leading comments of a method, from the descriptor's source info, for generated documentation. */
export function methodComment(method: DescMethod): string {
  const service = method.parent;
  const file = service.file;
  const serviceIndex = file.services.indexOf(service);
  const methodIndex = service.methods.indexOf(method);
  return comment(file.proto.sourceCodeInfo?.location, [6, serviceIndex, 2, methodIndex]);
}

/** The first sentence of a comment, on one line: a summary for tables and OpenAPI. */
export function summaryOf(comment: string): string {
  const flat = comment.replace(/\s+/g, " ").trim();
  const end = flat.search(/\.(\s|$)/);
  return end < 0 ? flat : flat.slice(0, end + 1);
}

/** Leading comments of a field, from the descriptor's source info. */
export function fieldComment(field: DescField): string {
  const path: number[] = [];
  let message = field.parent;
  path.unshift(2, message.fields.indexOf(field));
  for (;;) {
    const parent = message.parent;
    if (parent) {
      path.unshift(3, parent.nestedMessages.indexOf(message));
      message = parent;
    } else {
      path.unshift(4, message.file.messages.indexOf(message));
      break;
    }
  }
  return comment(message.file.proto.sourceCodeInfo?.location, path);
}

function comment(locations: readonly { path: number[]; leadingComments?: string }[] | undefined, path: number[]): string {
  const location = locations?.find((l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]));
  return (location?.leadingComments ?? "")
    .split("\n")
    .map((line) => line.trim())
    .join("\n")
    .trim();
}
