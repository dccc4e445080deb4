import { ScalarType, type DescField, type DescMessage, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { isObject, type JsonCodec } from "../transcoder/json-codec";
import { SchemaSet } from "../transcoder/openapi-schemas";
import { HTTP_BODY, isHttpBodyField } from "../transcoder/routes";

/** File content goes to and from a tool as text: a model writes a file's text, not base64. */
export const HTTP_BODY_TEXT: JsonObject = { type: "string", description: "The content, as UTF-8 text" };

/**
 * A request field a tool takes as text, sent as its UTF-8 bytes: file content (HttpBody) and, at
 * the top level, any bytes field (a Compose file's content), which JSON would otherwise want as
 * base64 that a model has to work out.
 */
export function isTextField(field: DescField): "body" | "bytes" | undefined {
  if (isHttpBodyField(field)) return "body";
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES) return "bytes";
  return undefined;
}

const COMPONENTS = "#/components/schemas/";
const DEFS = "#/$defs/";

/**
 * A tool's input schema: the request message's schema as the OpenAPI documents build it, less the
 * fields the tool hides, made to stand alone (MCP wants one JSON Schema object per tool, not a
 * reference into a document): the messages it refers to go in its `$defs`. Arguments the request
 * has no field for are refused, as a call with them is.
 */
export function inputSchema(codec: JsonCodec, request: DescMessage, hidden: readonly string[]): JsonObject {
  const set = new SchemaSet(codec, { [HTTP_BODY]: HTTP_BODY_TEXT });
  const top = set.message(request, "request", hidden);
  const all = set.all();
  const topName = refName(top);
  const root = topName === undefined ? top : all[topName];
  if (!isObject(root)) throw new Error(`no schema was built for ${request.typeName}`);
  const defs: JsonObject = {};
  collectDefs(root, all, defs);
  const schema: JsonObject = { ...(rewriteRefs(root) as JsonObject), additionalProperties: false };
  bytesAsText(codec, request, schema);
  if (Object.keys(defs).length > 0) schema.$defs = rewriteRefs(defs);
  return schema;
}

/** Every component schema `value` refers to, by name, and those they refer to. */
function collectDefs(value: JsonValue, all: JsonObject, defs: JsonObject): void {
  if (Array.isArray(value)) {
    for (const item of value) collectDefs(item, all, defs);
    return;
  }
  if (!isObject(value)) return;
  const name = refName(value);
  if (name !== undefined && !(name in defs)) {
    const target = all[name];
    if (target === undefined) throw new Error(`the schema refers to ${name}, which was never built`);
    defs[name] = target;
    collectDefs(target, all, defs);
  }
  for (const child of Object.values(value)) collectDefs(child, all, defs);
}

function rewriteRefs(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = key === "$ref" && typeof child === "string" && child.startsWith(COMPONENTS) ? DEFS + child.slice(COMPONENTS.length) : rewriteRefs(child);
  }
  return out;
}

function refName(value: JsonObject): string | undefined {
  const ref = value.$ref;
  return typeof ref === "string" && ref.startsWith(COMPONENTS) ? ref.slice(COMPONENTS.length) : undefined;
}

function bytesAsText(codec: JsonCodec, request: DescMessage, schema: JsonObject): void {
  const properties = schema.properties;
  if (!isObject(properties)) return;
  for (const field of request.fields) {
    const property = properties[codec.key(field)];
    if (isTextField(field) !== "bytes" || !isObject(property)) continue;
    const said = typeof property.description === "string" ? property.description.replace(/\s*\(base64 in JSON\)/, "") : "";
    properties[codec.key(field)] = { type: "string", description: `${said} As text: its UTF-8 bytes are sent.`.trim() };
  }
}
