import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/**
 * Arguments built from a tool's input schema alone, to check the schema against calls: the least
 * good call (every required property, a plain value of its type) and calls that are wrong in one
 * way each. Nothing here knows a tool.
 */
export interface Samples {
  readonly good: JsonObject;
  /** Each wrong call, with what is wrong with it. */
  readonly bad: readonly { readonly why: string; readonly args: JsonObject }[];
}

export function samplesOf(schema: JsonObject): Samples {
  const defs = (schema.$defs ?? {}) as JsonObject;
  const properties = (schema.properties ?? {}) as JsonObject;
  const required = (schema.required ?? []) as string[];
  const good: JsonObject = {};
  for (const name of required) good[name] = sampleValue(properties[name] as JsonObject, defs);
  const bad: { why: string; args: JsonObject }[] = [{ why: "an argument it does not take", args: { ...good, no_such_argument: 1 } }];
  const [first] = required;
  if (first !== undefined) {
    const { [first]: _left, ...rest } = good;
    bad.push({ why: `no ${first}, which it requires`, args: rest });
  }
  const text = Object.keys(properties).find((name) => isPlainString(properties[name] as JsonObject));
  if (text !== undefined) bad.push({ why: `a number for ${text}, a string`, args: { ...good, [text]: 12345 } });
  return { good, bad };
}

function resolve(schema: JsonObject, defs: JsonObject): JsonObject {
  const ref = schema.$ref;
  return typeof ref === "string" ? resolve(defs[ref.replace("#/$defs/", "")] as JsonObject, defs) : schema;
}

function sampleValue(schema: JsonObject, defs: JsonObject): JsonValue {
  const resolved = resolve(schema, defs);
  if (Array.isArray(resolved.enum)) return resolved.enum[0] ?? null;
  const type = Array.isArray(resolved.type) ? resolved.type[0] : resolved.type;
  switch (type) {
    case "string":
      return "x";
    case "integer":
    case "number":
      return 1;
    case "boolean":
      return true;
    case "array":
      return [];
    default: {
      const object: JsonObject = {};
      const properties = (resolved.properties ?? {}) as JsonObject;
      for (const name of (resolved.required ?? []) as string[]) object[name] = sampleValue(properties[name] as JsonObject, defs);
      return object;
    }
  }
}

function isPlainString(schema: JsonObject): boolean {
  return schema.type === "string" && schema.enum === undefined && schema.pattern === undefined;
}
