import { isMapping, type Mapping } from "./documents";
import { interpolate, InterpolationError, type Lookup } from "./interpolate";

/** A compose file's tree with every value interpolated, and what the interpolation found. */
export interface Interpolated {
  readonly document: Mapping;
  /** A required variable unset, or a reference Compose does not know: each names its field. */
  readonly errors: string[];
  /** Each variable that was unset where no default covered it, once, naming the first field. */
  readonly warnings: string[];
  /** The fields whose value could not be interpolated, left as written. */
  readonly failed: string[];
}

/**
 * Interpolates every value of a parsed compose file, before anything reads it, as the spec asks:
 * `"${WEB_PORT:-8080}:80"` is a port mapping only once interpolated. Keys are left alone (the
 * spec's rule). A service's environment and command are interpolated again when it starts,
 * against ghostd's variables (ports, mounts) and StartProject's secrets: there a reference to
 * a variable not known now is kept for then (see InterpolateOptions.defer).
 */
export function interpolateCompose(document: Mapping, lookup: Lookup): Interpolated {
  const errors: string[] = [];
  const failed: string[] = [];
  const unset = new Map<string, string>();
  const walk = (value: unknown, path: readonly string[]): unknown => {
    if (typeof value === "string") {
      const at = pathText(path);
      try {
        const firstUse = (name: string): void => {
          if (!unset.has(name)) unset.set(name, at);
        };
        return interpolate(value, lookup, { defer: resolvedAtStart(path), unset: firstUse });
      } catch (err) {
        if (!(err instanceof InterpolationError)) throw err;
        errors.push(`${at}: ${err.message}`);
        failed.push(at);
        return value;
      }
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, `[${i}]`]));
    // fromEntries, not assignment: a key `__proto__` stays a key.
    if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]));
    return value;
  };
  const interpolated = walk(document, []) as Mapping;
  const warnings = [...unset].map(([name, at]) => `${at}: the variable ${name} is not set; an empty string is used`);
  return { document: interpolated, errors, warnings, failed };
}

/** services.<name>.environment, .command and .entrypoint: what ServiceContext interpolates again at start. */
function resolvedAtStart(path: readonly string[]): boolean {
  return path[0] === "services" && path.length >= 3 && ["environment", "command", "entrypoint"].includes(path[2] ?? "");
}

function pathText(path: readonly string[]): string {
  return path.map((part, i) => (part.startsWith("[") || i === 0 ? part : `.${part}`)).join("");
}

/**
 * What reading the fields found wrong, less what it found in a field whose interpolation had
 * failed: that value is the text as written, and "not a port mapping" would blame the mapping
 * for the variable.
 */
export function withoutEchoes(errors: readonly string[], failed: readonly string[]): string[] {
  return errors.filter((error) => !failed.some((at) => [": ", ".", "["].some((after) => error.startsWith(`${at}${after}`))));
}
