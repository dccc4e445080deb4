import pino, { type DestinationStream, type LevelWithSilentOrString, type Logger, type LoggerOptions } from "pino";
import { boundedText } from "./bounded-text";

/**
 * Log lines copy what requests carried (paths, commands, error messages that quote them): under
 * fuzzing the log grew to megabytes from a few requests. Every value is cut here, in the one
 * logger the daemon makes, whoever logs it: each string to a few hundred characters, and all of
 * a line's values together to a budget, so that a line stays under 4 KiB.
 */
export const MAX_LOGGED_CHARS = 300;
/** A line's message: the daemon's own words, which may name a path or two. */
const MAX_MESSAGE_CHARS = 600;
/**
 * What one line's keys and values may take in all, a stack's frames included, counted as they
 * are written: a NUL byte is six characters of JSON.
 */
const LINE_BUDGET_CHARS = 2800;
/** A stack's frames are the daemon's own and worth keeping; its first line quotes the message. */
const MAX_STACK_CHARS = 1500;
/** Array items and object keys a line shows of one value, and how deep it follows nesting. */
const MAX_ITEMS = 20;
const MAX_DEPTH = 4;

/** What is left of a line's budget as its values are bounded one after another. */
interface Budget {
  left: number;
}

/**
 * The daemon's logger: pino's JSON lines (on stdout, unless given somewhere else), every value
 * bounded; with `ring`, each line is kept there too.
 */
export function daemonLogger(level: LevelWithSilentOrString, base: Record<string, unknown>, destination?: DestinationStream, ring?: DestinationStream): Logger {
  const options = {
    level,
    base,
    formatters: { log: (object) => boundedObject(object, 0, { left: LINE_BUDGET_CHARS }) },
    // Errors were serialized (and bounded) by the formatter above, whatever key held them.
    serializers: { err: (value: unknown) => (value instanceof Error ? boundedValue(value, "err", 0, { left: LINE_BUDGET_CHARS }) : value) },
    hooks: {
      logMethod(args, method) {
        const bounded = args.map((arg: unknown) => (typeof arg === "string" ? boundedJsonText(arg, MAX_MESSAGE_CHARS) : arg));
        method.apply(this, bounded as Parameters<typeof method>);
      },
    },
  } satisfies LoggerOptions;
  const out = destination ?? pino.destination(1);
  if (!ring || level === "silent") return pino(options, out);
  return pino(options, pino.multistream([{ stream: out, level: level as pino.Level }, { stream: ring, level: level as pino.Level }]));
}

function boundedObject(object: object, depth: number, budget: Budget): Record<string, unknown> {
  const entries = Object.entries(object);
  const bounded: Record<string, unknown> = {};
  budget.left -= 2;
  let shown = 0;
  for (const [key, value] of entries) {
    if (shown === MAX_ITEMS || budget.left <= 0) break;
    // The quotes, colon and comma around an entry count too: many small entries make a long line.
    const name = spend(budget, boundedJsonText(key, MAX_LOGGED_CHARS), 4);
    bounded[name] = boundedValue(value, key, depth + 1, budget);
    shown++;
  }
  if (shown < entries.length) bounded["…"] = spend(budget, `${entries.length - shown} more keys`, 6);
  return bounded;
}

function boundedValue(value: unknown, key: string, depth: number, budget: Budget): unknown {
  if (typeof value === "string") return spend(budget, key === "stack" ? boundedStack(value, budget.left) : boundedJsonText(value, Math.min(MAX_LOGGED_CHARS, budget.left)));
  if (value instanceof Error) return boundedObject(pino.stdSerializers.err(value), depth, budget);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return spend(budget, `<${value.byteLength} bytes>`);
  if (typeof value !== "object" || value === null) {
    budget.left -= String(value).length;
    return value;
  }
  if (depth >= MAX_DEPTH) return spend(budget, Array.isArray(value) ? `<${value.length} items>` : "<object>");
  if (Array.isArray(value)) return boundedArray(value, depth, budget);
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null ? boundedObject(value, depth, budget) : value;
}

function boundedArray(items: readonly unknown[], depth: number, budget: Budget): unknown[] {
  const bounded: unknown[] = [];
  budget.left -= 2;
  for (const item of items) {
    if (bounded.length === MAX_ITEMS || budget.left <= 0) break;
    budget.left -= 1;
    bounded.push(boundedValue(item, "", depth + 1, budget));
  }
  return bounded.length < items.length ? [...bounded, spend(budget, `… ${items.length - bounded.length} more items`, 3)] : bounded;
}

/** Takes what a string costs the line, as written, and `extra`, from the budget; returns the string. */
function spend(budget: Budget, text: string, extra = 0): string {
  budget.left -= jsonLength(text) + extra;
  return text;
}

/** How long a string is once written in JSON, without its quotes. */
function jsonLength(text: string): number {
  return JSON.stringify(text).length - 2;
}

/** `text` cut so that what is written of it (escapes counted) is about `max` characters at most. */
function boundedJsonText(text: string, max: number): string {
  let keep = Math.max(0, Math.min(text.length, max));
  while (keep > 0 && jsonLength(text.slice(0, keep)) > max) keep = Math.floor(keep / 2);
  return keep >= text.length ? text : boundedText(text, keep);
}

/** Each line of a stack bounded (the first quotes the message), and the whole of it. */
function boundedStack(stack: string, left: number): string {
  const lines = stack.split("\n").map((line) => boundedJsonText(line, MAX_LOGGED_CHARS));
  return boundedJsonText(lines.join("\n"), Math.min(MAX_STACK_CHARS, left));
}
