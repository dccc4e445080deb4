import { ScalarType, type DescEnum, type DescField, type DescMessage, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { fieldComment, methodComment, summaryOf } from "./descriptors";
import type { JsonCodec } from "./json-codec";
import { displayPath } from "./path-template";
import { HTTP_BODY, type Route } from "./routes";

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
  /** The JSON Schema of the surface's error body. */
  readonly errorSchema: JsonObject;
}

/** An OpenAPI 3.1 document of a surface, built from the same route table the transcoder serves. */
export function openApiDocument(routes: readonly Route[], codec: JsonCodec, info: OpenApiInfo): JsonObject {
  const schemas = new SchemaSet(codec);
  const paths: JsonObject = {};
  const bindingCount = new Map<string, number>();
  for (const route of routes) {
    const key = displayPath(route.template);
    const item = (paths[key] ?? {}) as JsonObject;
    paths[key] = item;
    const baseId = `${route.method.parent.name}_${route.method.name}`;
    const n = bindingCount.get(baseId) ?? 0;
    bindingCount.set(baseId, n + 1);
    const comment = methodComment(route.method);
    const operation: JsonObject = {
      operationId: n === 0 ? baseId : `${baseId}_${n}`,
      tags: [route.method.parent.name],
      summary: summaryOf(comment),
      parameters: parameters(route, schemas, codec),
      responses: {
        "200": success(route, schemas),
        default: { description: "An error", content: { "application/json": { schema: info.errorSchema } } },
      },
    };
    if (comment) operation.description = comment;
    const body = requestBody(route, schemas);
    if (body) operation.requestBody = body;
    item[route.httpMethod.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version, description: info.description },
    paths,
    components: { schemas: schemas.all() },
  };
}

function parameters(route: Route, schemas: SchemaSet, codec: JsonCodec): JsonValue[] {
  const input = route.method.input;
  const params: JsonValue[] = route.template.variables.map((v) => {
    const field = leafOf(input, v.fieldPath);
    return { name: v.fieldPath, in: "path", required: true, schema: field ? schemas.field(field) : { type: "string" } };
  });
  if (route.body === "*" || input.typeName === HTTP_BODY) return params;
  const bound = new Set(route.template.variables.map((v) => v.fieldPath.split(".")[0]));
  for (const field of input.fields) {
    if (bound.has(field.name) || field === route.bodyField || field.fieldKind === "map") continue;
    if (field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf.")) {
      for (const sub of field.message.fields) {
        if (sub.fieldKind === "scalar" || sub.fieldKind === "enum") {
          params.push(queryParam(`${codec.key(field)}.${codec.key(sub)}`, sub, schemas));
        }
      }
      continue;
    }
    params.push(queryParam(codec.key(field), field, schemas));
  }
  return params;
}

function queryParam(name: string, field: DescField, schemas: SchemaSet): JsonObject {
  const param: JsonObject = { name, in: "query", schema: schemas.field(field) };
  const doc = fieldComment(field);
  if (doc) param.description = doc;
  if (field.fieldKind === "list") param.explode = true;
  return param;
}

function requestBody(route: Route, schemas: SchemaSet): JsonObject | undefined {
  const input = route.method.input;
  if (route.body === "*" && input.typeName === HTTP_BODY) return binaryContent();
  if (route.body === "*") return { required: true, content: { "application/json": { schema: schemas.message(input) } } };
  if (!route.bodyField) return undefined;
  if (route.bodyField.fieldKind === "message" && route.bodyField.message.typeName === HTTP_BODY) return binaryContent();
  return { required: true, content: { "application/json": { schema: schemas.field(route.bodyField) } } };
}

function binaryContent(): JsonObject {
  return { required: true, content: { "*/*": { schema: { type: "string", format: "binary" } } } };
}

function success(route: Route, schemas: SchemaSet): JsonObject {
  const output = route.method.output;
  const field = route.responseBody;
  const raw = output.typeName === HTTP_BODY || (field?.fieldKind === "message" && field.message.typeName === HTTP_BODY);
  if (raw) return { description: "Raw bytes, with their own content type", content: { "*/*": { schema: { type: "string", format: "binary" } } } };
  const schema = field ? schemas.field(field) : schemas.message(output);
  if (route.serverStreaming) {
    return {
      description: "A stream: one JSON object per line, `result` per message, a last `error` on failure",
      content: { "application/x-ndjson": { schema: { type: "object", properties: { result: schema, error: {} } } } },
    };
  }
  return { description: "OK", content: { "application/json": { schema } } };
}

function leafOf(message: DescMessage, fieldPath: string): DescField | undefined {
  let current: DescMessage | undefined = message;
  let field: DescField | undefined;
  for (const name of fieldPath.split(".")) {
    field = current?.fields.find((f) => f.name === name);
    current = field?.fieldKind === "message" ? field.message : undefined;
  }
  return field;
}

const WELL_KNOWN: Record<string, JsonObject> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?\\d+(\\.\\d+)?s$" },
  "google.protobuf.Struct": { type: "object" },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array" },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Any": { type: "object" },
  "google.protobuf.FieldMask": { type: "string" },
  [HTTP_BODY]: { type: "string", format: "binary" },
};

/** The component schemas a document refers to, added as they are first used. */
class SchemaSet {
  private readonly schemas: JsonObject = {};

  constructor(private readonly codec: JsonCodec) {}

  all(): JsonObject {
    return this.schemas;
  }

  message(desc: DescMessage): JsonObject {
    const known = WELL_KNOWN[desc.typeName];
    if (known) return known;
    if (!(desc.typeName in this.schemas)) {
      const properties: JsonObject = {};
      this.schemas[desc.typeName] = { type: "object", properties };
      for (const field of desc.fields) {
        const schema = { ...this.field(field) };
        const doc = fieldComment(field);
        if (doc) schema.description = doc;
        properties[this.codec.key(field)] = schema;
      }
    }
    return { $ref: `#/components/schemas/${desc.typeName}` };
  }

  field(field: DescField): JsonObject {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumeration(field.enum);
      case "message":
        return this.message(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar" ? scalarSchema(field.scalar) : field.listKind === "enum" ? this.enumeration(field.enum) : this.message(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties:
            field.mapKind === "scalar" ? scalarSchema(field.scalar) : field.mapKind === "enum" ? this.enumeration(field.enum) : this.message(field.message),
        };
    }
  }

  private enumeration(desc: DescEnum): JsonObject {
    if (!(desc.typeName in this.schemas)) {
      this.schemas[desc.typeName] = { type: "string", enum: this.codec.enumSpellings(desc) };
    }
    return { $ref: `#/components/schemas/${desc.typeName}` };
  }
}

function scalarSchema(scalar: ScalarType): JsonObject {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: "number" };
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      // Written as a number while exact, as a decimal string beyond 2^53.
      return { type: ["integer", "string"], format: "int64" };
    default:
      return { type: "integer", format: "int32" };
  }
}
