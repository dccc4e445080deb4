import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { IncomingMessage } from "node:http";
import { GatewayError } from "./errors";
import { convertText } from "./request";
import { RouteError } from "./route-error";

/** A request header that fills a scalar field of an opening message (`Header-Name=field`). */
export interface HeaderField {
  /** As the rule spells it. */
  readonly header: string;
  readonly field: DescField;
  /** Whether the header may be left out: its field has explicit presence (proto3 `optional`). */
  readonly optional: boolean;
}

/** A rule's `Header-Name=field` mapping, resolved against the opening message. */
export function headerField(message: DescMessage | undefined, mapping: string, at: string): HeaderField {
  const [header, name] = mapping.split("=");
  const field = message?.fields.find((f) => f.name === name);
  if (!header || !field || field.fieldKind !== "scalar") throw new RouteError(`${at}: header_fields "${mapping}" must be Header-Name=scalar field of the open message`);
  return { header, field, optional: field.presence === FeatureSet_FieldPresence.EXPLICIT };
}

/**
 * The request's mapped headers as query parameters, so that the opening message is built, and its
 * values checked, as any request's are. A missing or empty header is a 400 naming it, unless its
 * field is optional. Header bytes that are valid UTF-8 are read as UTF-8 (Node reads them as
 * Latin-1), so a file name in any script arrives as it was sent.
 */
export function headerParameters(req: IncomingMessage, headers: readonly HeaderField[], query: URLSearchParams): URLSearchParams {
  const merged = new URLSearchParams(query);
  for (const { header, field, optional } of headers) {
    const raw = req.headers[header.toLowerCase()];
    const value = typeof raw === "string" ? utf8Header(raw).trim() : "";
    if (value === "") {
      if (optional) continue;
      throw new GatewayError(400, "missing_header", `the ${header} header is required`);
    }
    convertText([field], value, `header ${header}`);
    merged.set(field.name, value);
  }
  return merged;
}

function utf8Header(latin1: string): string {
  const bytes = Buffer.from(latin1, "latin1");
  const text = bytes.toString("utf8");
  return text.includes("\uFFFD") ? latin1 : text;
}
