import { create, ScalarType, type DescField, type DescMessage, type JsonObject, type JsonValue, type Message } from "@bufbuild/protobuf";
import type { Contract } from "./descriptors";
import { GatewayError } from "./errors";
import { isObject, JsonDecodeError, type JsonCodec } from "./json-codec";
import type { Bindings } from "./path-template";
import { fieldChain, HTTP_BODY, isHttpBodyField, type Route } from "./routes";

/** What an HTTP request carries toward a gRPC request message. */
export interface HttpRequestParts {
  readonly bindings: Bindings;
  readonly query: URLSearchParams;
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

/**
 * Builds the request message of a route: path variables, then the body (`*` or one field), then
 * query parameters into the fields neither of them bound. Path values win over body values.
 */
export function buildRequest(contract: Contract, codec: JsonCodec, route: Route, parts: HttpRequestParts): Message {
  const input = route.input;
  const httpBody = contract.registry.getMessage(HTTP_BODY);
  const rawBody = (): Message => {
    if (!httpBody) throw new Error("the contract lacks google.api.HttpBody");
    return create(httpBody, { contentType: parts.contentType ?? "", data: parts.body });
  };
  if (route.body === "*" && input.typeName === HTTP_BODY) return rawBody();

  let json: JsonObject = {};
  if (route.body === "*") {
    // No body at all is the empty object: the seeds' "None required (empty object {})".
    const parsed = parts.body.length === 0 ? {} : parseJson(parts.body);
    if (!isObject(parsed)) throw new GatewayError(400, "invalid_json", "the request body must be a JSON object");
    json = parsed;
  } else if (route.bodyField && !isHttpBodyField(route.bodyField) && parts.body.length > 0) {
    json[route.bodyField.name] = parseJson(parts.body);
  }
  if (route.body !== "*") fillFromQuery(json, input, parts.query, route, parts.bindings);
  for (const [fieldPath, value] of parts.bindings) {
    const chain = fieldChain(input, fieldPath) ?? [];
    setPath(json, chain, convertText(chain, value, `path variable ${fieldPath}`));
  }

  const bound = new Set(route.bodyField && isHttpBodyField(route.bodyField) ? [route.bodyField.name] : []);
  checkRequired(contract, codec, input, json, bound, "");

  let message: Message;
  try {
    message = codec.decode(input, json);
  } catch (err) {
    if (err instanceof JsonDecodeError) throw new GatewayError(400, "invalid_json", err.message);
    throw err;
  }
  if (route.bodyField && isHttpBodyField(route.bodyField)) {
    (message as unknown as Record<string, unknown>)[route.bodyField.localName] = rawBody();
  }
  return message;
}

/** A JSON object as a message of `desc`, its required fields checked: a 400 naming the field otherwise. */
export function decodeObject(contract: Contract, codec: JsonCodec, desc: DescMessage, json: JsonObject): Message {
  checkRequired(contract, codec, desc, json, new Set(), "");
  try {
    return codec.decode(desc, json);
  } catch (err) {
    if (err instanceof JsonDecodeError) throw new GatewayError(400, "invalid_json", err.message);
    throw err;
  }
}

/** A request body as JSON; 400 `invalid_json` when it is not. */
export function parseJson(body: Buffer): JsonValue {
  try {
    return JSON.parse(body.toString("utf8")) as JsonValue;
  } catch (err) {
    throw new GatewayError(400, "invalid_json", `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function fillFromQuery(json: JsonObject, input: DescMessage, query: URLSearchParams, route: Route, bindings: Bindings): void {
  const boundPaths = [...bindings.keys()].map((p) => (fieldChain(input, p) ?? []).map((f) => f.name).join("."));
  for (const key of new Set(query.keys())) {
    const chain = fieldChain(input, key);
    const leaf = chain?.[chain.length - 1];
    // Unknown parameters are ignored, as are those naming the body or a path-bound field.
    if (!chain || !leaf || chain[0] === route.bodyField) continue;
    const dotted = chain.map((f) => f.name).join(".");
    if (boundPaths.some((p) => p === dotted || dotted.startsWith(`${p}.`) || p.startsWith(`${dotted}.`))) continue;
    if (leaf.fieldKind === "map" || (leaf.fieldKind === "message" && !leaf.message.typeName.startsWith("google.protobuf."))) {
      continue;
    }
    const values = query.getAll(key);
    const what = `query parameter ${key}`;
    const value: JsonValue =
      leaf.fieldKind === "list"
        ? values.map((v) => convertText(chain, v, what))
        : convertText(chain, values[values.length - 1] ?? "", what);
    setPath(json, chain, value);
  }
}

const INTEGER = /^-?\d+$/;
const UNSIGNED = /^\d+$/;
const FLOAT = /^(-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|NaN|-?Infinity)$/;

/** A path, query or header value as the JSON value its field takes; wrong values are 400s naming `what`. */
export function convertText(chain: readonly DescField[], text: string, what: string): JsonValue {
  const leaf = chain[chain.length - 1];
  if (!leaf) return text;
  const scalar = leaf.fieldKind === "scalar" ? leaf.scalar : leaf.fieldKind === "list" && leaf.listKind === "scalar" ? leaf.scalar : undefined;
  const enumDesc = leaf.fieldKind === "enum" ? leaf.enum : leaf.fieldKind === "list" && leaf.listKind === "enum" ? leaf.enum : undefined;
  const bad = (kind: string): never => {
    throw new GatewayError(400, "invalid_argument", `${what}: "${text}" is not ${kind}`);
  };
  // An enum by number, or by name or JSON spelling (which the codec checks).
  if (enumDesc) return /^-?\d+$/.test(text) ? Number(text) : text;
  switch (scalar) {
    case ScalarType.BOOL:
      if (text === "true" || text === "1") return true;
      if (text === "false" || text === "0") return false;
      return bad("a boolean (true or false)");
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return INTEGER.test(text) ? text : bad("an integer");
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return UNSIGNED.test(text) ? text : bad("an unsigned integer");
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return FLOAT.test(text) ? text : bad("a number");
    default:
      return text;
  }
}

function setPath(json: JsonObject, chain: readonly DescField[], value: JsonValue): void {
  let target = json;
  chain.forEach((field, i) => {
    if (i === chain.length - 1) {
      target[field.name] = value;
      return;
    }
    const existing = target[field.name] ?? target[field.jsonName];
    const next: JsonObject = isObject(existing) ? existing : {};
    Reflect.deleteProperty(target, field.jsonName);
    target[field.name] = next;
    target = next;
  });
}

/** Fields marked `(google.api.field_behavior) = REQUIRED` must be present: 400 `missing_field`. */
function checkRequired(
  contract: Contract,
  codec: JsonCodec,
  desc: DescMessage,
  json: JsonObject,
  bound: ReadonlySet<string>,
  prefix: string,
): void {
  for (const field of desc.fields) {
    const value = json[field.name] ?? json[field.jsonName];
    const name = `${prefix}${codec.key(field)}`;
    if ((value === undefined || value === null) && contract.isRequired(field) && !bound.has(field.name)) {
      throw new GatewayError(400, "missing_field", `missing required field "${name}"`);
    }
    if (field.fieldKind === "message" && isObject(value) && !field.message.typeName.startsWith("google.protobuf.")) {
      checkRequired(contract, codec, field.message, value, new Set(), `${name}.`);
    }
  }
}
