/**
 * google.api.http path templates:
 *
 *   Template = "/" Segments [ Verb ] ;
 *   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *   Verb     = ":" LITERAL ;
 *
 * `{field}` is `{field=*}`. `**` matches the rest of the path and must come last.
 */

export type Segment = { kind: "literal"; value: string } | { kind: "wildcard" } | { kind: "deep" };

export interface Variable {
  /** Dotted field path, e.g. `shelf.name`. */
  readonly fieldPath: string;
  /** Index of the first segment the variable covers. */
  readonly start: number;
  /** Index one past its last segment. */
  readonly end: number;
}

export interface PathTemplate {
  readonly source: string;
  readonly segments: readonly Segment[];
  readonly variables: readonly Variable[];
  readonly verb: string | undefined;
}

export class TemplateError extends Error {}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function parseTemplate(source: string): PathTemplate {
  if (!source.startsWith("/")) throw new TemplateError(`path template ${source} must start with /`);
  let rest = source.slice(1);
  let verb: string | undefined;
  // The verb is a ":" after the last "/" that is outside any variable.
  const lastSlash = rest.lastIndexOf("/");
  const lastClose = rest.lastIndexOf("}");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash && colon > lastClose) {
    verb = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!verb) throw new TemplateError(`path template ${source} has an empty verb`);
  }
  const segments: Segment[] = [];
  const variables: Variable[] = [];
  for (const token of splitOutsideBraces(rest, source)) {
    if (token.startsWith("{")) {
      if (!token.endsWith("}")) throw new TemplateError(`path template ${source}: unclosed variable ${token}`);
      const inner = token.slice(1, -1);
      const eq = inner.indexOf("=");
      const fieldPath = eq < 0 ? inner : inner.slice(0, eq);
      if (!IDENT.test(fieldPath)) throw new TemplateError(`path template ${source}: bad field path "${fieldPath}"`);
      if (variables.some((v) => v.fieldPath === fieldPath)) {
        throw new TemplateError(`path template ${source} binds ${fieldPath} twice`);
      }
      const start = segments.length;
      const pattern = eq < 0 ? "*" : inner.slice(eq + 1);
      for (const part of pattern.split("/")) {
        if (part.includes("{")) throw new TemplateError(`path template ${source}: nested variables`);
        segments.push(plainSegment(part, source));
      }
      variables.push({ fieldPath, start, end: segments.length });
    } else {
      segments.push(plainSegment(token, source));
    }
  }
  const deep = segments.findIndex((s) => s.kind === "deep");
  if (deep >= 0 && deep !== segments.length - 1) {
    throw new TemplateError(`path template ${source}: ** must be the last segment`);
  }
  return { source, segments, variables, verb };
}

function plainSegment(part: string, source: string): Segment {
  if (part === "*") return { kind: "wildcard" };
  if (part === "**") return { kind: "deep" };
  if (!part || /[{}*]/.test(part)) throw new TemplateError(`path template ${source}: bad segment "${part}"`);
  return { kind: "literal", value: part };
}

function splitOutsideBraces(text: string, source: string): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    if (depth < 0 || depth > 1) throw new TemplateError(`path template ${source}: unbalanced braces`);
    if (ch === "/" && depth === 0) {
      tokens.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw new TemplateError(`path template ${source}: unbalanced braces`);
  tokens.push(current);
  return tokens;
}

/** Variable values of a matched path, keyed by field path, percent-decoded. */
export type Bindings = Map<string, string>;

/**
 * Matches a request path (without query) against a template. Single-segment variables are fully
 * percent-decoded; multi-segment ones keep %2F encoded, as google.api.http prescribes.
 */
export function matchTemplate(template: PathTemplate, path: string): Bindings | undefined {
  const parts = pathParts(path, template.verb);
  return parts && matchParts(template, parts);
}

/**
 * A request path's segments as a template with this verb (or none) sees them; undefined when the
 * path lacks the verb. A router splits each path once per verb, not once per route.
 */
export function pathParts(path: string, verb: string | undefined): string[] | undefined {
  let rest = path.startsWith("/") ? path.slice(1) : path;
  if (verb !== undefined) {
    const suffix = `:${verb}`;
    if (!rest.endsWith(suffix)) return undefined;
    rest = rest.slice(0, -suffix.length);
  }
  return rest.split("/");
}

/** `matchTemplate` on a path already split by `pathParts` for the template's verb. */
export function matchParts(template: PathTemplate, parts: readonly string[]): Bindings | undefined {
  const { segments } = template;
  const last = segments[segments.length - 1];
  const deep = last?.kind === "deep";
  if (deep ? parts.length < segments.length - 1 : parts.length !== segments.length) return undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (!segment || segment.kind === "deep") break;
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.kind === "literal") {
      // Only an escaped segment needs decoding to compare.
      if (part !== segment.value && (!part.includes("%") || safeDecode(part) !== segment.value)) return undefined;
    } else if (part === "") {
      return undefined;
    }
  }
  const bindings: Bindings = new Map();
  for (const variable of template.variables) {
    const reachesEnd = variable.end === segments.length && deep;
    const covered = parts.slice(variable.start, reachesEnd ? parts.length : variable.end);
    const value =
      covered.length === 1 && !reachesEnd
        ? safeDecode(covered[0] ?? "")
        : covered.map((p) => decodeKeepingSlashes(p)).join("/");
    if (value === undefined) return undefined;
    bindings.set(variable.fieldPath, value);
  }
  return bindings;
}

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

function decodeKeepingSlashes(part: string): string {
  return part
    .split(/(%2[Ff])/)
    .map((piece) => (/^%2[Ff]$/.test(piece) ? piece : (safeDecode(piece) ?? piece)))
    .join("");
}

/**
 * Orders templates from most to least specific, so that `/terminals/focused` is tried before
 * `/terminals/{id}` and a template with a verb before one whose variable would swallow it.
 */
export function compareSpecificity(a: PathTemplate, b: PathTemplate): number {
  if ((a.verb !== undefined) !== (b.verb !== undefined)) return a.verb !== undefined ? -1 : 1;
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const diff = rank(b.segments[i]) - rank(a.segments[i]);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * Literal over `*` over the template's end over `**`: where a template ends and another goes on
 * with `**` (matching nothing there), the exact one is more specific.
 */
function rank(segment: Segment | undefined): number {
  if (!segment) return 1;
  return segment.kind === "literal" ? 3 : segment.kind === "wildcard" ? 2 : 0;
}

/** The template as OpenAPI and the discovery index write it: `{name=shelves/*}` becomes `{name}`. */
export function displayPath(template: PathTemplate): string {
  const out: string[] = [];
  for (let i = 0; i < template.segments.length; ) {
    const variable = template.variables.find((v) => v.start === i);
    if (variable) {
      out.push(`{${variable.fieldPath}}`);
      i = variable.end;
      continue;
    }
    const segment = template.segments[i];
    out.push(segment?.kind === "literal" ? segment.value : segment?.kind === "deep" ? "**" : "*");
    i++;
  }
  return `/${out.join("/")}${template.verb !== undefined ? `:${template.verb}` : ""}`;
}
