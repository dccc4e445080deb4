import { isAlias, parseDocument, visit } from "yaml";

/** Documents bigger than this are refused before parsing. */
export const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;
const MAX_ALIASES = 200;
const MAX_NODES = 200_000;

export class DocumentError extends Error {}

/** A YAML mapping (a JSON object) as parsed, its values not yet checked. */
export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses YAML (or JSON, which is YAML) that may be hostile: a size cap before parsing, a cap on
 * aliases (an "anchor bomb" expands each into copies), and on nodes; errors say where.
 */
export function parseYaml(text: string, what: string): unknown {
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw new DocumentError(`${what} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  let document;
  try {
    // `merge`: compose files share settings with `<<: *defaults`.
    document = parseDocument(text, { uniqueKeys: true, prettyErrors: true, merge: true });
  } catch (err) {
    throw new DocumentError(`${what} cannot be read: ${(err as Error).message}`);
  }
  const first = document.errors[0];
  if (first) throw new DocumentError(`${what} is not valid YAML: ${first.message.split("\n")[0] ?? ""}`);
  let aliases = 0;
  let nodes = 0;
  visit(document, (_key, node) => {
    nodes++;
    if (isAlias(node)) aliases++;
    if (nodes > MAX_NODES) return visit.BREAK;
    return undefined;
  });
  if (nodes > MAX_NODES) throw new DocumentError(`${what} has more than ${MAX_NODES} nodes`);
  if (aliases > MAX_ALIASES) throw new DocumentError(`${what} has more than ${MAX_ALIASES} aliases`);
  try {
    return document.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new DocumentError(`${what} cannot be read: ${(err as Error).message}`);
  }
}


/** A compose or manifest duration: `1m30s`, `10s`, `500ms`, `2h`, or a bare number of seconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * (units[match[2] ?? "s"] ?? 1000);
    rest = rest.slice(match[0].length);
  }
  return text.length > 0 ? total : undefined;
}
