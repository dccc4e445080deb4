import pino, { type DestinationStream, type LevelWithSilentOrString, type Logger, type LoggerOptions } from "pino";
import { boundedText } from "./bounded-text";

/**
 * Log lines copy what requests carried (paths, commands, error messages that quote them): under
 * fuzzing the log grew to megabytes from a few requests. Every value is cut here, in the one
 * logger the daemon makes, whoever logs it: each string to a few hundred characters, and all of
 * a line's values together to a budget, so that a line stays under 4 KiB.
 */
export const MAX_LOGGED_CHARS = 300;
/** What one line's values may take in all, a stack's frames included. */
const LINE_BUDGET_CHARS = 3000;
/** A stack's frames are the daemon's own and worth keeping; its first line quotes the message. */
const MAX_STACK_CHARS = 1500;
/** Array items and object keys a line shows of one value, and how deep it follows nesting. */
const MAX_ITEMS = 20;
const MAX_DEPTH = 4;

/** What is left of a line's budget as its values are bounded one after another. */
interface Budget {
  left: number;
}

/** The daemon's logger: pino's JSON lines (on stdout, unless given somewhere else), every value bounded. */
export function daemonLogger(level: LevelWithSilentOrString, base: Record<string, unknown>, destination?: DestinationStream): Logger {
  const options = {
    level,
    base,
    formatters: { log: (object) => boundedObject(object, 0, { left: LINE_BUDGET_CHARS }) },
    // Errors were serialized (and bounded) by the formatter above, whatever key held them.
    serializers: { err: (value: unknown) => (value instanceof Error ? boundedValue(value, "err", 0, { left: LINE_BUDGET_CHARS }) : value) },
    hooks: {
      logMethod(args, method) {
        const bounded = args.map((arg: unknown) => (typeof arg === "string" ? boundedText(arg, MAX_LOGGED_CHARS) : arg));
        method.apply(this, bounded as Parameters<typeof method>);
      },
    },
  } satisfies LoggerOptions;
  return destination ? pino(options, destination) : pino(options);
}

function boundedObject(object: object, depth: number, budget: Budget): Record<string, unknown> {
  const entries = Object.entries(object);
  const bounded: Record<string, unknown> = {};
  let shown = 0;
  for (const [key, value] of entries) {
    if (shown === MAX_ITEMS || budget.left <= 0) break;
    const name = spend(budget, boundedText(key, MAX_LOGGED_CHARS));
    bounded[name] = boundedValue(value, key, depth + 1, budget);
    shown++;
  }
  if (shown < entries.length) bounded["…"] = `${entries.length - shown} more keys`;
  return bounded;
}

function boundedValue(value: unknown, key: string, depth: number, budget: Budget): unknown {
  if (typeof value === "string") return spend(budget, key === "stack" ? boundedStack(value, budget.left) : boundedText(value, Math.max(0, Math.min(MAX_LOGGED_CHARS, budget.left))));
  if (value instanceof Error) return boundedObject(pino.stdSerializers.err(value), depth, budget);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `<${value.length} items>` : "<object>";
  if (Array.isArray(value)) return boundedArray(value, depth, budget);
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null ? boundedObject(value, depth, budget) : value;
}

function boundedArray(items: readonly unknown[], depth: number, budget: Budget): unknown[] {
  const bounded: unknown[] = [];
  for (const item of items) {
    if (bounded.length === MAX_ITEMS || budget.left <= 0) break;
    bounded.push(boundedValue(item, "", depth + 1, budget));
  }
  return bounded.length < items.length ? [...bounded, `… ${items.length - bounded.length} more items`] : bounded;
}

/** Takes a string's length from the budget; returns the string. */
function spend(budget: Budget, text: string): string {
  budget.left -= text.length;
  return text;
}

/** Each line of a stack bounded (the first quotes the message), and the whole of it. */
function boundedStack(stack: string, left: number): string {
  const lines = stack.split("\n").map((line) => boundedText(line, MAX_LOGGED_CHARS));
  return boundedText(lines.join("\n"), Math.max(0, Math.min(MAX_STACK_CHARS, left)));
}
