import type { DescField, JsonObject, JsonValue } from "@bufbuild/protobuf";
import { fieldComment, methodComment, summaryOf } from "./descriptors";
import type { JsonCodec } from "./json-codec";
import { SchemaSet } from "./openapi-schemas";
import { displayPath } from "./path-template";
import { fieldChain, HTTP_BODY, isHttpBodyField, type Route } from "./routes";

/** One error status a surface answers, and when. */
export interface ErrorStatus {
  readonly status: number;
  readonly description: string;
  /** Only routes that take a request body can be answered it (413, 415). */
  readonly withBodyOnly?: boolean;
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
  /** Where the surface is reached by default; a Unix socket surface gives the URL clients send. */
  readonly servers: readonly { readonly url: string; readonly description: string }[];
  /** The JSON Schema of the surface's error body. */
  readonly errorSchema: JsonObject;
  /** The error statuses the surface answers, each with the error body. */
  readonly errorStatuses: readonly ErrorStatus[];
}

const ERROR_SCHEMA = "Error";

/** An OpenAPI 3.1 document of a surface, built from the same route table the transcoder serves. */
export function openApiDocument(routes: readonly Route[], codec: JsonCodec, info: OpenApiInfo): JsonObject {
  const schemas = new SchemaSet(codec);
  const paths: JsonObject = {};
  const operationIds = new OperationIds();
  const usedErrors = new Set<number>();
  for (const route of routes) {
    const key = displayPath(route.template);
    const item = (paths[key] ?? {}) as JsonObject;
    paths[key] = item;
    const operation = operationOf(route, schemas, codec, operationIds.next(route));
    const errors = errorResponses(route, info.errorStatuses);
    for (const status of Object.keys(errors)) usedErrors.add(Number(status));
    const responses: JsonObject = route.upgradeOnly ? {} : { "200": success(route, schemas) };
    if (route.webSocket) responses["101"] = webSocketSwitch(route, codec);
    if (route.streamUpgrade) responses["101"] = { description: `Switching Protocols (\`Upgrade: ${route.streamUpgrade.protocols.join("|")}\`): raw bytes both ways, each side's end of writing passed on.` };
    operation.responses = { ...responses, ...errors };
    item[route.httpMethod.toLowerCase()] = operation;
  }
  const responses: JsonObject = {};
  for (const { status, description } of info.errorStatuses.filter((e) => usedErrors.has(e.status))) {
    responses[String(status)] = { description, content: { "application/json": { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` } } } };
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version, description: info.description },
    servers: info.servers.map((s) => ({ ...s })),
    // Local clients only, no credentials: the surfaces check who connects, not what they send.
    security: [],
    paths,
    components: { schemas: { ...schemas.all(), [ERROR_SCHEMA]: info.errorSchema }, responses },
  };
}

/** `Service_Method`, then `Service_Method_1`... for its additional bindings. */
class OperationIds {
  private readonly counts = new Map<string, number>();

  next(route: Route): string {
    const base = `${route.method.parent.name}_${route.method.name}`;
    const n = this.counts.get(base) ?? 0;
    this.counts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }
}

function operationOf(route: Route, schemas: SchemaSet, codec: JsonCodec, operationId: string): JsonObject {
  const comment = methodComment(route.method);
  const operation: JsonObject = {
    operationId,
    tags: [route.method.parent.name],
    summary: summaryOf(comment) || `${route.method.parent.name}.${route.method.name}`,
    parameters: parameters(route, schemas, codec),
  };
  if (comment) operation.description = comment;
  const body = requestBody(route, schemas);
  if (body) operation.requestBody = body;
  return operation;
}

function errorResponses(route: Route, statuses: readonly ErrorStatus[]): JsonObject {
  const takesBody = route.body !== "";
  const responses: JsonObject = {};
  for (const { status, withBodyOnly } of statuses) {
    if (withBodyOnly && !takesBody) continue;
    responses[String(status)] = { $ref: `#/components/responses/${status}` };
  }
  return responses;
}

function parameters(route: Route, schemas: SchemaSet, codec: JsonCodec): JsonValue[] {
  const input = route.input;
  const params: JsonValue[] = route.template.variables.map((v) => {
    const field = fieldChain(input, v.fieldPath)?.at(-1);
    const param: JsonObject = { name: v.fieldPath, in: "path", required: true, schema: field ? schemas.field(field, "request") : { type: "string" } };
    const doc = field ? fieldComment(field) : "";
    if (doc) param.description = doc;
    return param;
  });
  if (route.body === "*" || input.typeName === HTTP_BODY) return params;
  const headers = route.streamUpgrade?.headers ?? route.bodyStream?.headers ?? [];
  for (const { header, field, optional } of headers) {
    params.push({ name: header, in: "header", required: !optional, schema: schemas.field(field, "request"), description: fieldComment(field) || header });
  }
  const bound = [...boundFields(route), ...headers.map((h) => h.field.name)];
  for (const field of input.fields) {
    if (bound.includes(field.name) || field === route.bodyField || field.fieldKind === "map") continue;
    if (field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf.")) {
      for (const sub of field.message.fields) {
        if (sub.fieldKind === "scalar" || sub.fieldKind === "enum") {
          params.push(queryParam(`${codec.key(field)}.${codec.key(sub)}`, sub, schemas, false));
        }
      }
      continue;
    }
    params.push(queryParam(codec.key(field), field, schemas, schemas.isRequired(field, "request")));
  }
  return params;
}

/** The top-level request fields the path binds: they are parameters, never body properties. */
function boundFields(route: Route): string[] {
  return route.template.variables.map((v) => v.fieldPath.split(".")[0] ?? "");
}

function queryParam(name: string, field: DescField, schemas: SchemaSet, required: boolean): JsonObject {
  const param: JsonObject = { name, in: "query", schema: schemas.field(field, "request") };
  if (required) param.required = true;
  const doc = fieldComment(field);
  if (doc) param.description = doc;
  if (field.fieldKind === "list") param.explode = true;
  return param;
}

/** A body is required only when something in it is: `POST .../focus` may go without one. */
function requestBody(route: Route, schemas: SchemaSet): JsonObject | undefined {
  const input = route.input;
  if (route.rawBody || route.bodyStream) return binaryContent();
  if (route.body === "*") {
    const bound = boundFields(route);
    const required = input.fields.some((f) => !bound.includes(f.name) && schemas.isRequired(f, "request"));
    return { required, content: { "application/json": { schema: schemas.message(input, "request", bound) } } };
  }
  if (!route.bodyField) return undefined;
  return { required: schemas.isRequired(route.bodyField, "request"), content: { "application/json": { schema: schemas.field(route.bodyField, "request") } } };
}

function binaryContent(): JsonObject {
  return { required: true, content: { "*/*": { schema: { type: "string", format: "binary" } } } };
}

function success(route: Route, schemas: SchemaSet): JsonObject {
  const output = route.method.output;
  const field = route.responseBody;
  const raw = output.typeName === HTTP_BODY || isHttpBodyField(field);
  if (raw) return { description: "Raw bytes, with their own content type", content: { "*/*": { schema: { type: "string", format: "binary" } } } };
  const schema = field ? schemas.field(field, "response") : schemas.message(output, "response");
  if (route.serverStreaming) {
    return {
      description: "A stream: one JSON object per line, `result` per message, a last `error` on failure",
      content: { "application/x-ndjson": { schema: { type: "object", properties: { result: schema, error: {} } } } },
    };
  }
  return { description: "OK", content: { "application/json": { schema } } };
}

/** What a WebSocket route's frames carry, from its frame mapping, as the 101 response describes it. */
function webSocketSwitch(route: Route, codec: JsonCodec): JsonObject {
  const frames = route.webSocket;
  const lines = ["Switching Protocols to a WebSocket (send `Upgrade: websocket`) carrying the stream."];
  const members = (oneof: { fields: readonly DescField[] }): string => oneof.fields.map((f) => `\`{"type":"${codec.key(f)}", ...}\``).join(", ");
  if (frames?.binaryIn) lines.push(`Binary frames from the client: \`${codec.key(frames.binaryIn)}\` bytes.`);
  if (frames?.textIn) lines.push(`Text frames from the client: ${members(frames.textIn)}.`);
  if (frames?.binaryOut) lines.push(`Binary frames to the client: \`${codec.key(frames.binaryOut)}\` bytes.`);
  if (frames?.textOut) lines.push(`Text frames to the client: ${members(frames.textOut)}, and \`{"type":"error", ...}\` before a close on failure.`);
  if (!frames?.binaryOut && !frames?.textOut) lines.push("Each message is a text frame `{\"result\": ...}`; a failure is a last `{\"error\": ...}` before the close.");
  return { description: lines.join(" ") };
}
