import { ScalarType, type DescEnum, type DescField, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { fieldComment } from "./descriptors";
import type { JsonCodec } from "./json-codec";
import { HTTP_BODY } from "./routes";

/**
 * Which way a message travels. A request schema requires what `field_behavior` marks REQUIRED; a
 * response schema requires what the codec always writes, so typed clients need no checks for it.
 */
export type Direction = "request" | "response";

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

/** One shape of a message: its direction, less the fields a path binds (never repeated in a body). */
interface Variant {
  readonly direction: Direction;
  readonly omitted: readonly string[];
}

/** The component schemas a document refers to, added as they are first used. */
export class SchemaSet {
  private readonly schemas: JsonObject = {};
  /** The component name of each variant of a message, by type name and variant key. */
  private readonly names = new Map<string, Map<string, string>>();

  /** `overrides`: schemas used for these message types instead of the document's (by type name). */
  constructor(
    private readonly codec: JsonCodec,
    private readonly overrides: Readonly<Record<string, JsonObject>> = {},
  ) {}

  all(): JsonObject {
    return this.schemas;
  }

  /** A reference to the message's schema, in one direction, less the top-level fields in `omitted`. */
  message(desc: DescMessage, direction: Direction, omitted: readonly string[] = []): JsonObject {
    const known = this.overrides[desc.typeName] ?? WELL_KNOWN[desc.typeName];
    if (known) return known;
    const variant = { direction, omitted: [...omitted].sort() };
    const { name, isNew } = this.nameOf(desc.typeName, variant);
    if (isNew) this.schemas[name] = this.object(desc, variant);
    return { $ref: `#/components/schemas/${name}` };
  }

  field(field: DescField, direction: Direction): JsonObject {
    switch (field.fieldKind) {
      case "scalar":
        return this.scalar(field, field.scalar);
      case "enum":
        return this.enumeration(field.enum);
      case "message":
        return this.message(field.message, direction);
      case "list":
        return { type: "array", items: field.listKind === "scalar" ? this.scalar(field, field.scalar) : field.listKind === "enum" ? this.enumeration(field.enum) : this.message(field.message, direction) };
      case "map":
        return {
          type: "object",
          additionalProperties: field.mapKind === "scalar" ? scalarSchema(field.scalar) : field.mapKind === "enum" ? this.enumeration(field.enum) : this.message(field.message, direction),
        };
    }
  }

  /** Whether the field must be there: REQUIRED in a request, always written in a response. */
  isRequired(field: DescField, direction: Direction): boolean {
    if (direction === "request") return this.codec.contract.isRequired(field);
    // The codec emits implicit-presence fields at their defaults; a message, an `optional` or a
    // oneof member is written only when set.
    if (field.fieldKind === "list" || field.fieldKind === "map") return true;
    return field.fieldKind !== "message" && field.presence === FeatureSet_FieldPresence.IMPLICIT;
  }

  private object(desc: DescMessage, variant: Variant): JsonObject {
    const properties: JsonObject = {};
    const required: string[] = [];
    for (const field of desc.fields) {
      if (variant.omitted.includes(field.name)) continue;
      const key = this.codec.key(field);
      const schema = { ...this.field(field, variant.direction) };
      const doc = fieldComment(field);
      if (doc) schema.description = doc;
      properties[key] = schema;
      if (this.isRequired(field, variant.direction)) required.push(key);
    }
    return required.length > 0 ? { type: "object", properties, required } : { type: "object", properties };
  }

  /**
   * The first shape of a message takes its type name; another shape of it (a request type also
   * answered, or bound to other path fields) takes a suffix saying which.
   */
  private nameOf(typeName: string, variant: Variant): { name: string; isNew: boolean } {
    const key = `${variant.direction}:${variant.omitted.join(",")}`;
    let names = this.names.get(typeName);
    if (!names) {
      names = new Map();
      this.names.set(typeName, names);
    }
    const existing = names.get(key);
    if (existing) return { name: existing, isNew: false };
    let name = typeName;
    if (names.size > 0) name += `.${variant.direction === "request" ? "Request" : "Response"}${variant.omitted.map((f) => `.without_${f}`).join("")}`;
    names.set(key, name);
    return { name, isNew: true };
  }

  private scalar(field: DescField, scalar: ScalarType): JsonObject {
    const allowed = this.codec.contract.allowedValues(field);
    return allowed.length > 0 ? { type: "string", enum: [...allowed] } : scalarSchema(scalar);
  }

  /** Only the spellings a client may send: never the zero `*_UNSPECIFIED` value, which means unset. */
  private enumeration(desc: DescEnum): JsonObject {
    if (!(desc.typeName in this.schemas)) {
      const spellings = this.codec.enumSpellings(desc);
      const values = desc.values.flatMap((v, i) => (v.number === 0 && this.codec.contract.jsonValue(v) === undefined ? [] : [spellings[i] ?? v.name]));
      this.schemas[desc.typeName] = { type: "string", enum: values };
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
