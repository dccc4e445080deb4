/**
 * Compose's variable syntax (the spec's "Interpolation"): `$VAR`, `${VAR}`, `${VAR:-default}`
 * (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` and `${VAR?message}` (required),
 * `${VAR:+other}` and `${VAR+other}` (set), defaults nested to any depth, and `$$` for a dollar
 * sign. A `$` that starts none of these is kept, as Compose keeps it.
 */

/** A required variable is unset, or a `${` is not a reference Compose knows. */
export class InterpolationError extends Error {}

export type Lookup = (name: string) => string | undefined;

export interface InterpolateOptions {
  /**
   * For text that is interpolated a second time later (a service's environment and command,
   * resolved again when it starts): `$$` and references to variables `lookup` does not know stay
   * as written, and a substituted value has its `$` doubled, so the later pass reads it literally.
   */
  readonly defer?: boolean;
  /** Told of each variable that is unset where no default covers it: Compose warns of those. */
  readonly unset?: (name: string) => void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATORS = [":-", ":?", ":+", "-", "?", "+"] as const;
type Operator = (typeof OPERATORS)[number];

/** `text` with its references resolved; unknown variables are empty unless `options.defer`. */
export function interpolate(text: string, variables: Readonly<Record<string, string | undefined>> | Lookup, options: InterpolateOptions = {}): string {
  const lookup: Lookup = typeof variables === "function" ? variables : (name) => (Object.hasOwn(variables, name) ? variables[name] : undefined);
  return new Template(text, lookup, options).all();
}

class Template {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly lookup: Lookup,
    private readonly options: InterpolateOptions,
  ) {}

  all(): string {
    let out = "";
    while (this.pos < this.text.length) {
      const dollar = this.text.indexOf("$", this.pos);
      if (dollar < 0) {
        out += this.text.slice(this.pos);
        break;
      }
      out += this.text.slice(this.pos, dollar);
      this.pos = dollar;
      out += this.reference();
    }
    return out;
  }

  /** What the `$` at `pos` stands for; `pos` moves past what it read. */
  private reference(): string {
    const next = this.text.charAt(this.pos + 1);
    if (next === "$") {
      this.pos += 2;
      return this.options.defer ? "$$" : "$";
    }
    if (next === "{") return this.braced();
    const bare = NAME.exec(this.text.slice(this.pos + 1))?.[0];
    if (bare === undefined) {
      this.pos += 1;
      return "$";
    }
    this.pos += 1 + bare.length;
    const value = this.lookup(bare);
    if (value !== undefined) return this.substituted(value);
    if (this.options.defer) return `$${bare}`;
    this.options.unset?.(bare);
    return "";
  }

  private braced(): string {
    const start = this.pos;
    this.pos += 2;
    const name = NAME.exec(this.text.slice(this.pos))?.[0];
    if (name === undefined) throw this.invalid(start);
    this.pos += name.length;
    if (this.text.charAt(this.pos) === "}") {
      this.pos += 1;
      return this.resolve(name, undefined, "");
    }
    const operator = OPERATORS.find((op) => this.text.startsWith(op, this.pos));
    if (operator === undefined) throw this.invalid(start);
    this.pos += operator.length;
    const word = this.word(start);
    return this.resolve(name, operator, word);
  }

  /** The raw text of a default, message or alternative up to its closing `}`, which `pos` moves past. */
  private word(start: number): string {
    const from = this.pos;
    let depth = 0;
    while (this.pos < this.text.length) {
      if (this.text.startsWith("$$", this.pos)) this.pos += 2;
      else if (this.text.startsWith("${", this.pos)) {
        depth++;
        this.pos += 2;
      } else if (this.text.charAt(this.pos) === "}" && depth-- === 0) {
        this.pos += 1;
        return this.text.slice(from, this.pos - 1);
      } else this.pos += 1;
    }
    throw this.invalid(start);
  }

  /** A word is interpolated only when it is used, as a shell does: an unused `${B:?}` demands nothing. */
  private resolve(name: string, operator: Operator | undefined, word: string): string {
    const value = this.lookup(name);
    const inner = (): string => new Template(word, this.lookup, this.options).all();
    if (value === undefined && this.options.defer) return operator === undefined ? `\${${name}}` : `\${${name}${operator}${inner()}}`;
    const empty = value === undefined || value === "";
    switch (operator) {
      case ":-":
        return empty ? inner() : this.substituted(value);
      case "-":
        return value === undefined ? inner() : this.substituted(value);
      case ":?":
      case "?":
        if (operator === ":?" ? empty : value === undefined) throw new InterpolationError(`${name} is required: ${inner() || "it is not set"}`);
        return this.substituted(value ?? "");
      case ":+":
        return empty ? "" : inner();
      case "+":
        return value === undefined ? "" : inner();
      case undefined:
        if (value !== undefined) return this.substituted(value);
        this.options.unset?.(name);
        return "";
    }
  }

  private substituted(value: string): string {
    return this.options.defer ? value.replaceAll("$", () => "$$") : value;
  }

  private invalid(start: number): InterpolationError {
    const end = this.text.indexOf("}", start);
    return new InterpolationError(`"${this.text.slice(start, end < 0 ? undefined : end + 1)}" is not a variable reference Compose knows: \${NAME}, \${NAME:-default}, \${NAME:?message}, \${NAME:+other}`);
  }
}
