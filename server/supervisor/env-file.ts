import { interpolate } from "./interpolate";

/**
 * One `VAR[=[VAL]]` line of an env file (`.env`, `env_file:`) as the Compose spec reads it.
 * `literal`: the value was single-quoted, so no interpolation applies to it.
 */
export interface EnvEntry {
  readonly key: string;
  /** Undefined for a bare `VAR`: the variable is unset, not empty. */
  readonly value: string | undefined;
  readonly literal: boolean;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", '"': '"' };

/**
 * The entries of an env file: `#` lines and blank lines skipped, `export` allowed, values
 * unquoted (an inline comment needs a space before its `#`), double-quoted (`\n`, `\t`, `\r`,
 * `\\`, `\"` escapes) or single-quoted (literal, `\'` for a quote).
 */
export function parseEnvFile(content: string, format: "compose" | "raw" = "compose"): EnvEntry[] {
  const entries: EnvEntry[] = [];
  for (const line of content.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    const key = (eq < 0 ? trimmed : trimmed.slice(0, eq)).replace(/^export\s+/, "").trim();
    if (eq < 0) entries.push({ key, value: undefined, literal: false });
    // `format: raw`: the value as written, quotes and `$` signs included.
    else if (format === "raw") entries.push({ key, value: line.slice(line.indexOf("=") + 1), literal: true });
    else entries.push({ key, ...valueOf(trimmed.slice(eq + 1).trim()) });
  }
  return entries;
}

function valueOf(raw: string): { value: string; literal: boolean } {
  const quote = raw.charAt(0);
  if (quote === "'" || quote === '"') {
    const quoted = quotedValue(raw, quote);
    if (quoted !== undefined) return { value: quoted, literal: quote === "'" };
  }
  return { value: raw.replace(/\s+#.*$/, ""), literal: false };
}

/** The text between `quote` and its unescaped partner, escapes applied; undefined when it is not closed. */
function quotedValue(raw: string, quote: string): string | undefined {
  let value = "";
  for (let i = 1; i < raw.length; i++) {
    const ch = raw.charAt(i);
    if (ch === quote) return value;
    if (ch === "\\" && i + 1 < raw.length) {
      const next = raw.charAt(++i);
      value += next === quote ? quote : quote === '"' ? (ESCAPES[next] ?? `\\${next}`) : `\\${next}`;
    } else value += ch;
  }
  return undefined;
}

/**
 * A project's `.env` as the variables its compose file is interpolated with: a value may use the
 * lines above it; a single-quoted one is literal. Throws InterpolationError for a `${VAR:?}`.
 */
export function envFileVariables(content: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const { key, value, literal } of parseEnvFile(content)) {
    if (value !== undefined) variables.set(key, literal ? value : interpolate(value, (name) => variables.get(name)));
  }
  return variables;
}
