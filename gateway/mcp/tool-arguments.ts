import type { DescField, JsonObject, JsonValue, Message } from "@bufbuild/protobuf";
import type { Contract } from "../transcoder/descriptors";
import { GatewayError } from "../transcoder/errors";
import { isObject, type JsonCodec } from "../transcoder/json-codec";
import { decodeObject } from "../transcoder/request";
import { isTextField } from "./input-schema";
import type { ToolEntry } from "./tool-table";

/**
 * A tool's arguments as its method's request, decoded as the gateway decodes a JSON body (the same
 * `missing_field` and `invalid_json` reasons), with two differences a model needs: an argument
 * the tool does not take is refused rather than ignored, so a misspelt one is not silently lost;
 * and file content and bytes are text (isTextField), sent as UTF-8.
 */
export function toolRequest(contract: Contract, codec: JsonCodec, entry: ToolEntry, args: JsonValue | undefined): Message {
  const json = args ?? {};
  if (!isObject(json)) throw new GatewayError(400, "invalid_json", "the arguments must be a JSON object");
  const fields = entry.method.input.fields.filter((f) => !entry.option.hiddenFields.includes(f.name));
  const unknown = Object.keys(json).filter((key) => !fields.some((f) => takes(codec, f, key)));
  if (unknown.length > 0) {
    const known = fields.map((f) => codec.key(f)).join(", ");
    throw new GatewayError(400, "invalid_argument", `${entry.tool.name} takes no argument ${unknown.map((k) => `"${k}"`).join(", ")}; it takes ${known || "none"}`);
  }
  return decodeObject(contract, codec, entry.method.input, withBodies(codec, fields, json));
}

function takes(codec: JsonCodec, field: DescField, key: string): boolean {
  return key === codec.key(field) || key === field.name || key === field.jsonName;
}

/** Each argument taken as text (isTextField) as the JSON of the bytes or file content it fills. */
function withBodies(codec: JsonCodec, fields: readonly DescField[], json: JsonObject): JsonObject {
  const out: JsonObject = { ...json };
  for (const field of fields) {
    const kind = isTextField(field);
    const key = Object.keys(json).find((k) => takes(codec, field, k));
    if (kind === undefined || key === undefined) continue;
    const text = json[key];
    if (typeof text !== "string") throw new GatewayError(400, "invalid_json", `invalid value for field "${codec.key(field)}": it takes a string of text`);
    const base64 = Buffer.from(text, "utf8").toString("base64");
    out[key] = kind === "body" ? { content_type: "text/plain; charset=utf-8", data: base64 } : base64;
  }
  return out;
}
