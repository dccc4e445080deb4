/**
 * `text` cut to `max` characters, with a marker saying how much was left out, so that a value a
 * client chose (a 100 KB path) cannot make a message, a trailer or a log line as long as itself.
 * The cut never falls inside a surrogate pair: half an emoji is not text.
 */
export function boundedText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}

/**
 * `text` with every lone surrogate replaced by U+FFFD. A client can send one (`"\ud800"` is valid
 * JSON), and a message quoting it cannot be sent as a gRPC status: grpc-js percent-encodes the
 * message with encodeURI, which throws on it, and the call was then never answered at all.
 */
export function wellFormed(text: string): string {
  return text.replace(/\p{Cs}/gu, "\uFFFD");
}
