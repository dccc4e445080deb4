import { setFlagsFromString } from "node:v8";

// V8's own linear-time engine: a pattern compiled with the `l` flag runs without backtracking,
// so no pattern a client sends can hold the event loop (`^(a+)+$` against "aaa…!" took seconds
// with the backtracking engine). It has to be switched on once, before such a pattern is made.
setFlagsFromString("--enable-experimental-regexp-engine");

/** Longer patterns are refused before they are compiled. */
export const MAX_PATTERN_LENGTH = 4096;

/** Why a pattern cannot be used, in words for the caller. */
export class PatternError extends Error {}

/**
 * A regular expression that matches in time linear in its input. What the linear engine cannot
 * do (lookarounds, backreferences) is refused with a PatternError saying so.
 */
export function linearRegExp(source: string, flags = ""): RegExp {
  if (source.length > MAX_PATTERN_LENGTH) throw new PatternError(`the pattern is ${source.length} characters long; at most ${MAX_PATTERN_LENGTH} are taken`);
  try {
    return new RegExp(source, `${flags}l`);
  } catch (err) {
    const message = (err as Error).message;
    if (/linear time/.test(message)) throw new PatternError("it cannot be matched in linear time: lookarounds and backreferences are not supported");
    throw new PatternError(message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ""));
  }
}
