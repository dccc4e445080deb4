import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { isObject } from "../transcoder/json-codec";

/** A JSON value cut to fit a bound, and what was cut, in words. */
export interface Bounded {
  readonly value: JsonValue;
  /** One sentence per cut text or list; empty when nothing was cut. */
  readonly cuts: readonly string[];
}

/** A text or list inside a value, where it is and how much of the serialised value it takes. */
interface Part {
  readonly path: (string | number)[];
  readonly value: string | JsonValue[];
  readonly size: number;
}

const MAX_CUTS = 64;

/**
 * Cuts `value` until its JSON fits in `limit` characters, largest text or list first: a text loses
 * characters, a list items, from its start when `keepEnd` (a log's oldest lines, a screen's top)
 * and from its end otherwise. A cut text says so where it was cut, and every cut is reported, so
 * the reader is never left to think a cut output whole.
 */
export function boundOutput(value: JsonValue, limit: number, keepEnd: boolean): Bounded {
  let current = value;
  const cuts: string[] = [];
  for (let round = 0; round < MAX_CUTS; round++) {
    const excess = JSON.stringify(current).length - limit;
    if (excess <= 0) break;
    const part = largestPart(current);
    if (!part) break;
    const { replacement, said } = typeof part.value === "string" ? cutText(part.value, excess, keepEnd) : cutList(part.value, excess, keepEnd);
    current = replaceAt(current, part.path, replacement);
    cuts.push(`${describePath(part.path)} ${said}`);
  }
  return fitWhole(current, limit, keepEnd, cuts);
}

/**
 * An output still too long once nothing in it is long enough to cut alone (a mass of small
 * fields) is cut as one text, its JSON: no longer an object, but within the bound, and said.
 */
function fitWhole(value: JsonValue, limit: number, keepEnd: boolean, cuts: string[]): Bounded {
  const json = JSON.stringify(value);
  if (json.length <= limit) return { value, cuts };
  // Written as a string, the text's quotes and backslashes are escaped again.
  const { replacement, said } = cutText(json, JSON.stringify(json).length - limit, keepEnd);
  return { value: replacement, cuts: [...cuts, `the output's JSON text ${said}, since nothing in it was long enough to cut alone`] };
}

function largestPart(value: JsonValue): Part | undefined {
  let largest: Part | undefined;
  const visit = (node: JsonValue, path: (string | number)[]): void => {
    if (typeof node === "string" || Array.isArray(node)) {
      const size = JSON.stringify(node).length;
      // A text already down to its marker has nothing more to give.
      const cuttable = Array.isArray(node) ? node.length > 0 : node.length > MARKER_ROOM;
      if (cuttable && (!largest || size > largest.size)) largest = { path, value: node, size };
    }
    if (Array.isArray(node)) node.forEach((item, i) => visit(item, [...path, i]));
    else if (isObject(node)) for (const [key, child] of Object.entries(node)) visit(child, [...path, key]);
  };
  visit(value, []);
  return largest;
}

/** Room a marker takes, `[… 1,234,567 characters cut …]`, so a cut never ends up longer. */
const MARKER_ROOM = 40;

const marker = (count: number): string => `[… ${count.toLocaleString("en-US")} characters cut …]`;

/** The text less enough characters to take `excess` off its JSON, the marker counted. */
function cutText(text: string, excess: number, keepEnd: boolean): { replacement: string; said: string } {
  const target = JSON.stringify(text).length - excess;
  const cut = (keep: number): string => {
    const removed = text.length - keep;
    return keepEnd ? marker(removed) + text.slice(text.length - keep) : text.slice(0, keep) + marker(removed);
  };
  // The most characters kept whose cut form fits: escapes make a character's JSON length vary.
  let low = 0;
  let high = text.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (JSON.stringify(cut(mid)).length <= target) low = mid;
    else high = mid - 1;
  }
  const removed = text.length - low;
  const said = `lost ${removed.toLocaleString("en-US")} of its ${text.length.toLocaleString("en-US")} characters at its ${keepEnd ? "start" : "end"}`;
  return { replacement: cut(low), said };
}

function cutList(list: JsonValue[], excess: number, keepEnd: boolean): { replacement: JsonValue[]; said: string } {
  let removedSize = 0;
  let removed = 0;
  while (removed < list.length && removedSize < excess) {
    const item = keepEnd ? list[removed] : list[list.length - 1 - removed];
    removedSize += JSON.stringify(item ?? null).length + 1;
    removed++;
  }
  const replacement = keepEnd ? list.slice(removed) : list.slice(0, list.length - removed);
  const said = `lost ${removed.toLocaleString("en-US")} of its ${list.length.toLocaleString("en-US")} items at its ${keepEnd ? "start (the oldest)" : "end"}`;
  return { replacement, said };
}

function replaceAt(value: JsonValue, path: readonly (string | number)[], replacement: JsonValue): JsonValue {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  if (Array.isArray(value) && typeof head === "number") return value.map((item, i) => (i === head ? replaceAt(item, rest, replacement) : item));
  if (isObject(value) && typeof head === "string") {
    const copy: JsonObject = { ...value };
    copy[head] = replaceAt(value[head] ?? null, rest, replacement);
    return copy;
  }
  return value;
}

/** `entries`, `body.text`, `entries[3].line`; the whole output when the path is empty. */
function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "the output";
  return path.map((step, i) => (typeof step === "number" ? `[${step}]` : i === 0 ? step : `.${step}`)).join("");
}
