/** What a secret, in any of its forms, becomes in the logs. */
export const MASK = "***";

/** Shorter values are left alone: masking them would garble every line. */
const MIN_LENGTH = 4;

/**
 * Above this size a secret's percent-encodings are masked as two fixed strings rather than as one
 * pattern: the pattern grows with the secret, and a huge secret must not make a huge regexp.
 */
const MAX_PATTERN_BYTES = 4096;

/**
 * Replaces secrets in log text, with the forms programs commonly print them in: as they are,
 * base64 and base64url (padded or not, alone or inside a longer encoded text such as an HTTP Basic
 * credential), percent-encoded (any mix of encoded and plain characters, hex digits in either
 * case, a space as `+` or `%20`) and hex.
 */
export class SecretMask {
  private readonly pattern: RegExp | undefined;
  /** The most characters one match can span: the end of a cut text may hold the start of one. */
  readonly longest: number;

  constructor(values: Iterable<string>) {
    const secrets = [...new Set(values)].filter((value) => value.length >= MIN_LENGTH);
    const fragments = secrets.flatMap(fragmentsOf);
    // The regexp takes the first alternative that matches at a place, so longer forms go first:
    // a padded base64 form before the unpadded one it begins with.
    fragments.sort((a, b) => b.length - a.length);
    this.pattern = fragments.length > 0 ? new RegExp(fragments.map((f) => f.source).join("|"), "g") : undefined;
    this.longest = Math.max(0, ...secrets.map((value) => 3 * Buffer.byteLength(value)));
  }

  apply(text: string): string {
    return this.pattern ? text.replace(this.pattern, MASK) : text;
  }

  /**
   * Masks `text` and splits it where a match could still begin that the text after it would end:
   * the first part is safe to store, the second (masked too) waits for what follows.
   */
  holdBack(text: string): [string, string] {
    const masked = this.apply(text);
    const cut = Math.max(0, masked.length - Math.max(0, this.longest - 1));
    return [masked.slice(0, cut), masked.slice(cut)];
  }
}

/** A pattern's source, and the least number of characters it matches, to order them by. */
interface Fragment {
  readonly source: string;
  readonly length: number;
}

function fragmentsOf(value: string): Fragment[] {
  const literals = new Set([value, ...base64Forms(value), ...hexForms(value)]);
  const fixed = [...literals].filter((form) => form.length >= MIN_LENGTH).map((form) => ({ source: escapeRegExp(form), length: form.length }));
  return [...fixed, ...percentFragments(value)];
}

/** base64 and base64url of the value with and without padding, and the parts of it that stay the same inside a longer encoded text. */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value);
  const padded = bytes.toString("base64");
  const forms = [padded, padded.replace(/=+$/, "")];
  for (let offset = 0; offset < 3; offset++) forms.push(embeddedBase64(bytes, offset));
  return [...forms, ...forms.map((form) => form.replaceAll("+", "-").replaceAll("/", "_"))];
}

/**
 * The characters of base64(`offset` bytes before the value, the value, more after) that only the
 * value's bytes decide. Each character encodes 6 bits; the value's bits are [8·offset,
 * 8·(offset+length)), so those characters are the ones from ceil(8·offset/6) to the last one ending
 * inside. What comes before and after changes only the characters around them.
 */
function embeddedBase64(bytes: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * (offset + bytes.length)) / 6);
  return encoded.slice(first, end);
}

function hexForms(value: string): string[] {
  const hex = Buffer.from(value).toString("hex");
  return [hex, hex.toUpperCase()];
}

/**
 * The value percent-encoded by any encoder: each character as it is or as its UTF-8 bytes in %XX
 * (either case), a space also as `+`. Encoders differ in what they leave plain (encodeURIComponent
 * keeps `!'()*`, forms encode them, Python keeps `/`), so any character may come either way. A `%` itself only as `%25`, so that every alternative starts
 * with its own character and no match ever backtracks (the plain `%` is the raw value's literal).
 */
function percentFragments(value: string): Fragment[] {
  if (Buffer.byteLength(value) > MAX_PATTERN_BYTES) {
    const uri = encodeURIComponent(value);
    return [uri, uri.replaceAll("%20", "+")].map((form) => ({ source: escapeRegExp(form), length: form.length }));
  }
  // By code point: a character beyond the BMP is encoded from all four of its UTF-8 bytes.
  const source = Array.from(value, percentAlternatives).join("");
  return [{ source, length: value.length }];
}

function percentAlternatives(char: string): string {
  const encoded = [...Buffer.from(char)].map((byte) => `%${caseless(byte.toString(16).toUpperCase().padStart(2, "0"))}`).join("");
  if (char === "%") return encoded;
  if (char === " ") return `(?: |\\+|${encoded})`;
  return `(?:${escapeRegExp(char)}|${encoded})`;
}

/** A hex number matched in either case: `%2f` as well as `%2F`. */
function caseless(hex: string): string {
  return hex.replace(/[A-F]/g, (digit) => `[${digit}${digit.toLowerCase()}]`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
