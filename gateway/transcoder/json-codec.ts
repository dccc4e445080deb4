import {
  fromJson,
  ScalarType,
  toJson,
  type DescEnum,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
} from "@bufbuild/protobuf";
import type { Contract } from "./descriptors";

export interface JsonOptions {
  /** Write proto field names (`working_directory`) instead of lowerCamelCase JSON names (`exitCode`). */
  readonly protoNames: boolean;
}

export class JsonDecodeError extends Error {
  constructor(
    message: string,
    /** Set once the message names the field at fault. */
    readonly named = false,
  ) {
    super(message);
  }
}

/**
 * Proto3 JSON as ghostd's surfaces speak it: protobuf-es does the mapping, and one walk over the
 * result applies what the seeds need beyond it: enum values in their `json_value` spelling, and
 * 64-bit integers as JSON numbers while they are exact (GhostVM clients read `size` as a number).
 */
export class JsonCodec {
  private readonly aliases = new Map<string, { out: Map<string, string>; in: Map<string, string> }>();

  constructor(
    readonly contract: Contract,
    readonly options: JsonOptions,
  ) {}

  encode(desc: DescMessage, message: Message): JsonValue {
    const json = toJson(desc, message, {
      useProtoFieldName: this.options.protoNames,
      alwaysEmitImplicit: true,
      registry: this.contract.registry,
    });
    if (isObject(json)) this.rewrite(desc, json, "out");
    return json;
  }

  decode(desc: DescMessage, json: JsonValue): Message {
    if (isObject(json)) this.rewrite(desc, json, "in");
    try {
      return fromJson(desc, json, { ignoreUnknownFields: true, registry: this.contract.registry });
    } catch (err) {
      throw new JsonDecodeError(describeDecodeError(err));
    }
  }

  /** The JSON key a field is written under on this surface. */
  key(field: DescField): string {
    return this.options.protoNames ? field.name : field.jsonName;
  }

  /** How each value of an enum is written on this surface. */
  enumSpellings(desc: DescEnum): string[] {
    const aliases = this.enumAliases(desc).out;
    return desc.values.map((v) => aliases.get(v.name) ?? v.name);
  }

  private rewrite(desc: DescMessage, json: JsonObject, direction: "in" | "out"): void {
    if (desc.typeName.startsWith("google.protobuf.")) return;
    for (const field of desc.fields) {
      const key = direction === "out" ? this.key(field) : field.jsonName in json ? field.jsonName : field.name;
      const value = json[key];
      if (value === undefined || value === null) continue;
      try {
        json[key] = this.rewriteField(field, value, direction);
      } catch (err) {
        if (err instanceof JsonDecodeError && !err.named) throw new JsonDecodeError(`invalid value for field "${key}": ${err.message}`, true);
        throw err;
      }
    }
  }

  private rewriteField(field: DescField, value: JsonValue, direction: "in" | "out"): JsonValue {
    switch (field.fieldKind) {
      case "scalar":
        return direction === "out" ? int64AsNumber(field.scalar, value) : value;
      case "enum":
        return this.enumValue(field.enum, value, direction);
      case "message":
        if (isObject(value)) this.rewrite(field.message, value, direction);
        return value;
      case "list":
        if (!Array.isArray(value)) return value;
        return value.map((item) => {
          if (field.listKind === "enum") return this.enumValue(field.enum, item, direction);
          if (field.listKind === "message" && isObject(item)) this.rewrite(field.message, item, direction);
          if (field.listKind === "scalar" && direction === "out") return int64AsNumber(field.scalar, item);
          return item;
        });
      case "map":
        if (!isObject(value)) return value;
        for (const [k, item] of Object.entries(value)) {
          if (field.mapKind === "enum") value[k] = this.enumValue(field.enum, item, direction);
          else if (field.mapKind === "message" && isObject(item)) this.rewrite(field.message, item, direction);
          else if (field.mapKind === "scalar" && direction === "out") value[k] = int64AsNumber(field.scalar, item);
        }
        return value;
    }
  }

  private enumValue(desc: DescEnum, value: JsonValue, direction: "in" | "out"): JsonValue {
    if (typeof value !== "string") return value;
    const aliases = this.enumAliases(desc);
    const known = aliases[direction].get(value);
    if (known !== undefined) return known;
    // protobuf-es would drop an unknown name silently when told to ignore unknown fields.
    if (direction === "in" && !desc.values.some((v) => v.name === value)) {
      throw new JsonDecodeError(`"${value}" is not one of ${this.enumSpellings(desc).filter((s) => !s.endsWith("_UNSPECIFIED")).join(", ")}`);
    }
    return value;
  }

  private enumAliases(desc: DescEnum): { out: Map<string, string>; in: Map<string, string> } {
    let aliases = this.aliases.get(desc.typeName);
    if (!aliases) {
      aliases = { out: new Map(), in: new Map() };
      for (const value of desc.values) {
        const alias = this.contract.jsonValue(value);
        if (alias === undefined) continue;
        aliases.out.set(value.name, alias);
        aliases.in.set(alias, value.name);
      }
      this.aliases.set(desc.typeName, aliases);
    }
    return aliases;
  }
}

const INT64 = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);

function int64AsNumber(scalar: ScalarType, value: JsonValue): JsonValue {
  if (!INT64.has(scalar) || typeof value !== "string") return value;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeDecodeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const field = /^cannot decode field [\w.]+\.(\w+) from JSON: (.*)$/s.exec(message);
  if (field) return `invalid value for field "${field[1] ?? ""}": ${field[2] ?? ""}`;
  const whole = /^cannot decode message [\w.]+ from JSON: (.*)$/s.exec(message);
  if (whole) return `invalid request: ${whole[1] ?? ""}`;
  return message;
}
