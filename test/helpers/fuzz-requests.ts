import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";
import type { Route } from "../../gateway/transcoder/routes";

/** One generated HTTP request, before the live values it names are filled in. */
export interface FuzzRequest {
  readonly surface: "terminal" | "host";
  /** The route it was made from, for the report. */
  readonly route: string;
  readonly method: string;
  /** Path and query, already encoded; may hold `live~terminal~N~` for the Nth live terminal's id. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** What the generators may name: a sandbox every path falls under, and ids that exist. */
export interface FuzzWorld {
  /** Absolute directory holding every file or directory a request can name. */
  readonly sandbox: string;
  /** Names inside the sandbox worth hitting: files, a directory, a package. */
  readonly sandboxNames: readonly string[];
  /** Project ids, some registered beforehand. */
  readonly projectIds: readonly string[];
  /** A manifest whose only service is harmless, to register projects with. */
  readonly harmlessManifest: string;
}

/** Stands for the id of a terminal open when the request is sent; percent-encoding leaves it as it is. */
export const liveTerminal = (n: number): string => `live~terminal~${n}~`;

const HUGE = fc.constantFrom(4_096, 10_000, 100_000).chain((n) => fc.constantFrom("x", "é", "/", "\u0000", "😀").map((c) => c.repeat(n)));
const LONE_SURROGATE = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => `a${String.fromCharCode(code)}b`);

/** Short strings as a hostile client sends them: empty, unicode, control characters, NUL. */
const shortNastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 20 }), weight: 4 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 10 }).map((s) => `${s}\u0000${s}`), weight: 1 },
  { arbitrary: LONE_SURROGATE, weight: 1 },
  { arbitrary: fc.constantFrom("", " ", "\n", "\r\n", "${HOME}", "$(id)", "%s%n", "__proto__", "constructor", "-1", "NaN", "null"), weight: 2 },
);

/** Strings as a hostile client sends them, huge ones too. */
export const nastyString: fc.Arbitrary<string> = fc.oneof({ arbitrary: shortNastyString, weight: 12 }, { arbitrary: HUGE, weight: 1 });

/** A file name that is never `.` or `..` and holds no `/`: it cannot leave the directory it is in. */
const segment: fc.Arbitrary<string> = fc
  .oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }), fc.constantFrom("a b", "ü", "\u0000", "x".repeat(300)))
  .map((s) => s.replaceAll("/", "_"))
  .filter((s) => s !== "." && s !== "..");

/** A path under the sandbox (or, relative or with `~`, under the temporary home). */
function sandboxPath(world: FuzzWorld): fc.Arbitrary<string> {
  const inside = fc.oneof(fc.constantFrom(...world.sandboxNames), fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/")));
  return fc.oneof(
    { arbitrary: inside.map((rest) => `${world.sandbox}/${rest}`), weight: 6 },
    { arbitrary: fc.constant(world.sandbox), weight: 1 },
    { arbitrary: inside.map((rest) => `~/${rest}`), weight: 1 },
    { arbitrary: inside, weight: 1 },
    { arbitrary: fc.constant(`${world.sandbox}/${"d".repeat(5000)}`), weight: 1 },
  );
}

/** Programs exec may run: harmless ones, and names that cannot be found. */
const harmlessCommand: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("true", "echo", "/bin/true", "/bin/echo"),
  fc.string({ maxLength: 12 }).map((s) => `ghostd-fuzz-no-such-program-${s.replaceAll("/", "_")}`),
  fc.constantFrom("", "\u0000", "ec\u0000ho", "x".repeat(100_000), "echo hi | wc", "ls -la"),
);

function manifestText(world: FuzzWorld): fc.Arbitrary<string | undefined> {
  return fc.oneof(fc.constant(undefined), fc.constant(world.harmlessManifest), nastyString.map((s) => `%not yaml ${s}`), fc.constantFrom("{}", "[]", "kind: vibe.app/v1", "a: [1, 2"));
}

const COMPOSE = ["services:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n", "services:\n  a:\n    command: [sleep, \"1\"]\n    privileged: true\n", "services: 1", "x: [", ""];

/** Values a string field takes when it is used as meant, by the field's name: to get past validation. */
const HINTS: Readonly<Record<string, readonly string[]>> = {
  location: ["window", "tab", "split:left", "split:right", "split:up", "split:down"],
  action: ["new_tab", "new_window", "new_split:right", "goto_split:next", "goto_tab:1", "text:hi\\n", "csi:A", "esc:d", "scroll_page_up", "scroll_to_top", "clear_screen", "select_all", "copy_to_clipboard", "paste_from_clipboard", "toggle_split_zoom", "equalize_splits", "resize_split:up,10", "set_surface_title:fuzz", "increase_font_size:1", "reset", "close_surface", "toggle_quick_terminal", "press", "release"],
  key: ["a", "c", "enter", "escape", "tab", "space", "backspace", "delete", "up", "left", "home", "page_down", "f1", "f5", "f12", "0"],
  mods: ["shift", "control", "option", "command"],
  button: ["left", "right", "middle"],
  momentum: ["none", "began", "changed", "ended", "cancelled", "stationary"],
  type: ["title", "working_directory", "contents", "selection", "visible"],
  scope: ["visible", "contents", "surface", "window"],
  until: ["prompt"],
  match: ["a", ".*", "hi", "^$", "(a+)+$", "[", "\\d+", "(?<x>a)\\k<x>"],
  data: ["\u001b[31mred\u001b[0m", "\u001b]52;c;aGk=\u0007", "\u001b]7;file:///tmp\u0007", "\u001b]0;title\u0007", "\u001b]133;A\u0007\u001b]133;D;1\u0007", "\u001b[?1000h\u001b[?1006h", "\u001b[?2004h", "\u001b[2J\u001b[H"],
  text: ["hello", "\u0003", "\u0004", "line\nline"],
  bundle_id: ["org.example.App", "org.example.Missing"],
  app_id: ["dev.fuzz.app", "dev.other"],
  service_name: ["idle", "missing"],
};

/** What a field takes when its name says it is something to keep inside the sandbox or harmless. */
function constrained(world: FuzzWorld, route: Route, field: DescField): fc.Arbitrary<unknown> | undefined {
  const name = field.name;
  const service = route.method.parent.name;
  if (service === "GuestAgent" && name === "command") return harmlessCommand;
  if (["path", "cwd", "from", "to", "package_path", "state_path", "package_data_path", "working_directory"].includes(name)) return sandboxPath(world);
  if (name === "paths") return fc.array(sandboxPath(world), { maxLength: 3 });
  if (name === "manifest") return manifestText(world);
  // Environment for harmless programs: nothing the loader or a shell acts on.
  if (name === "env") return fc.dictionary(fc.string({ maxLength: 8 }).map((k) => `FUZZ_${k}`), nastyString, { maxKeys: 3 });
  // Waits are long polls by request; kept short so that slowness is the daemon's, not the fuzzer's.
  if (name === "timeout_ms" || name === "interval_ms") return fc.integer({ min: 0, max: 300 });
  if (name === "timeout" || name === "timeout_seconds") return fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom(-1, 0.001, 1e12));
  if (name === "project_id" || name === "source_project_id" || name === "new_project_id") return fc.oneof(fc.constantFrom(...world.projectIds), nastyString);
  if (name === "id" || name === "parent" || name === "terminal") return terminalId;
  if (name === "compose_content") return fc.oneof(fc.constantFrom(...COMPOSE).map((text) => Buffer.from(text).toString("base64")), fc.base64String({ maxLength: 64 }));
  const hints = HINTS[name];
  if (hints && field.fieldKind === "list") return fc.array(fc.oneof({ arbitrary: fc.constantFrom(...hints), weight: 3 }, { arbitrary: nastyString, weight: 1 }), { maxLength: 3 });
  if (hints) return fc.oneof({ arbitrary: fc.constantFrom(...hints), weight: 3 }, { arbitrary: nastyString, weight: 1 });
  return undefined;
}

const terminalId: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.nat({ max: 5 }).map(liveTerminal), weight: 4 },
  { arbitrary: fc.uuid(), weight: 1 },
  { arbitrary: nastyString, weight: 1 },
);

/** A JSON value of the field's type, or (when `wild`) now and then of any type. */
function fieldValue(world: FuzzWorld, route: Route, field: DescField, depth: number, wild: boolean): fc.Arbitrary<unknown> {
  const wellTyped = constrained(world, route, field) ?? typedValue(world, route, field, depth, wild);
  return wild ? fc.oneof({ arbitrary: wellTyped, weight: 8 }, { arbitrary: wrongValue(field), weight: 1 }) : wellTyped;
}

/** Anything but a value the field takes; a field that must stay safe keeps a safe type. */
function wrongValue(field: DescField): fc.Arbitrary<unknown> {
  const safe = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant({}), fc.constant([]), fc.double());
  return ["command", "path", "cwd", "from", "to", "paths", "package_path", "state_path", "package_data_path", "manifest", "env"].includes(field.name)
    ? safe
    : fc.oneof(safe, fc.jsonValue({ maxDepth: 2 }));
}

function typedValue(world: FuzzWorld, route: Route, field: DescField, depth: number, wild: boolean): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalarValue(field.scalar);
    case "enum":
      return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.name)), fc.integer({ min: -2, max: 9 }), nastyString);
    case "list":
      return fc.array(field.listKind === "scalar" ? scalarValue(field.scalar) : field.listKind === "enum" ? fc.integer({ min: 0, max: 5 }) : messageValue(world, route, field.message, depth + 1, wild), { maxLength: 4 });
    case "map":
      return fc.dictionary(nastyString, field.mapKind === "scalar" ? scalarValue(field.scalar) : fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
    case "message":
      return messageValue(world, route, field.message, depth + 1, wild);
  }
}

function scalarValue(scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return nastyString;
    case ScalarType.BOOL:
      return fc.oneof(fc.boolean(), fc.constantFrom("true", 1, "yes"));
    case ScalarType.BYTES:
      return fc.oneof(fc.base64String({ maxLength: 64 }), fc.constantFrom("not base64!", "", "===="));
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.oneof(fc.double({ noNaN: true }), fc.constantFrom("NaN", "Infinity", "1e400", "-0"));
    default:
      return fc.oneof(fc.integer(), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1.5, "12", "-3", "1e3", "99999999999999999999"));
  }
}

/**
 * A JSON object for a message: each field present or not, by proto or JSON name; when `wild`,
 * with an unknown field now and then and values of the wrong type, else as a client means it.
 */
function messageValue(world: FuzzWorld, route: Route, message: DescMessage, depth: number, wild: boolean): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 2) return fc.constant({});
  const fields = message.fields.map((field) =>
    // Tame bodies leave few fields out: required ones are mostly there, and the call gets further.
    fc.option(fc.tuple(fc.constantFrom(field.name, field.jsonName), fieldValue(world, route, field, depth, wild)), { freq: wild ? 2 : 5 }),
  );
  const extra = wild ? fc.option(fc.tuple(fc.constantFrom("unknown_field", "__proto__", "constructor", "toString", ""), fc.jsonValue({ maxDepth: 1 })), { freq: 4 }) : fc.constant(null);
  return fc.tuple(fc.tuple(...fields), extra).map(([present, unknown]) => {
    const json: Record<string, unknown> = {};
    for (const entry of [...present, unknown]) if (entry) Object.defineProperty(json, entry[0], { value: entry[1], enumerable: true, writable: true, configurable: true });
    return json;
  });
}

/** The body of a request to `route`: mostly JSON of its input, sometimes anything at all. */
function bodyOf(world: FuzzWorld, route: Route): fc.Arbitrary<{ body: Buffer | undefined; contentType: string | undefined }> {
  // A wait without timeout_ms takes its default, ten seconds, and a wild one up to ten minutes:
  // long polls asked for, not slowness. Values that are not numbers stay, to be refused.
  const longWait = (value: Record<string, unknown>): boolean => {
    const timeout = value.timeout_ms ?? value.timeoutMs;
    return timeout === undefined || (typeof timeout === "number" && timeout > 1000);
  };
  const shortWait = (value: Record<string, unknown>): Record<string, unknown> => {
    if (route.method.name !== "Wait" || !longWait(value)) return value;
    const { timeoutMs: _dropped, ...rest } = value;
    return { ...rest, timeout_ms: 100 };
  };
  const json = fc.boolean().chain((wild) => messageValue(world, route, route.method.input, 0, wild)).map((value) => ({ body: Buffer.from(JSON.stringify(shortWait(value))), contentType: "application/json" }));
  const raw = fc.tuple(fc.uint8Array({ maxLength: 256 }), fc.constantFrom(undefined, "application/octet-stream", "text/plain; charset=utf-8", "application/json", "image/png")).map(([bytes, contentType]) => ({ body: Buffer.from(bytes), contentType }));
  const odd = fc
    .constantFrom("", "null", "[]", "1", '"text"', "{", '{"a":', "[".repeat(100_000), `{"x":"${"y".repeat(2_000_000)}"}`, '{"a":1,"a":2}', "\uFEFF{}")
    .map((text) => ({ body: Buffer.from(text), contentType: "application/json" }));
  const none = fc.constant({ body: undefined, contentType: undefined });
  return fc.oneof({ arbitrary: json, weight: 6 }, { arbitrary: raw, weight: 1 }, { arbitrary: odd, weight: 1 }, { arbitrary: none, weight: 1 });
}

/** Percent-encoded UTF-8 (a lone surrogate as U+FFFD), where encodeURIComponent would throw. */
export function percentEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) out += /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/** A path variable's text, percent-encoded so that it cannot add a segment or climb out of one. */
function encodeSegments(value: string): string {
  return value.split("/").map(percentEncode).join("/");
}

/** The route's path with each variable filled, and now and then mangled. */
function pathOf(world: FuzzWorld, route: Route): fc.Arbitrary<string> {
  const { template } = route;
  const values = template.variables.map((variable) => {
    const field = route.method.input.fields.find((f) => f.name === variable.fieldPath);
    const deep = template.segments.slice(variable.start, variable.end).some((s) => s.kind === "deep");
    // A file route's path is the rest of the URL, taken from the root: only an absolute sandbox
    // path, or one in the home, stays inside. Never the sandbox itself: a mangle that adds to the
    // last segment (`%zz`) would then name a directory beside it.
    const inside = (p: string): boolean => (p.startsWith(`${world.sandbox}/`) || p.startsWith("~/")) && p !== world.sandbox;
    const value = deep ? sandboxPath(world).filter(inside) : ((field && constrained(world, route, field)) ?? nastyString);
    return (value as fc.Arbitrary<string>).map((text) => (deep ? encodeSegments(text.replace(/^\/+/, "")) : percentEncode(text)));
  });
  const filled = fc.tuple(...values).map((texts) => {
    const out: string[] = [];
    for (let i = 0; i < template.segments.length; ) {
      const index = template.variables.findIndex((v) => v.start === i);
      const variable = template.variables[index];
      if (variable) {
        out.push(texts[index] ?? "");
        i = variable.end;
        continue;
      }
      const segment = template.segments[i];
      out.push(segment?.kind === "literal" ? segment.value : "x");
      i++;
    }
    return `/${out.join("/")}${template.verb !== undefined ? `:${template.verb}` : ""}`;
  });
  const mangle = fc.constantFrom((p: string) => p, (p: string) => `${p}/`, (p: string) => `${p}/extra`, (p: string) => p.replace(/^\/[^/]*/, (first) => first.toUpperCase()), (p: string) => p.replace(/:[^/]*$/, ""), (p: string) => `${p}%zz`, (p: string) => `${p}%C3%28`, (p: string) => `/${p}`);
  return fc.tuple(filled, fc.oneof({ arbitrary: fc.constant((p: string) => p), weight: 6 }, { arbitrary: mangle, weight: 1 })).map(([path, change]) => change(path));
}

/** Query parameters named after the input's fields (dotted, repeated) or after nothing. */
function queryOf(world: FuzzWorld, route: Route): fc.Arbitrary<string> {
  const names = route.method.input.fields.flatMap((f) => [f.name, f.jsonName]);
  const key = fc.oneof(fc.constantFrom(...(names.length > 0 ? names : ["x"])), fc.constantFrom("stream", "follow", "a.b.c", "body", "id.x", ""), nastyString);
  const value = fc.oneof({ arbitrary: shortNastyString, weight: 32 }, { arbitrary: fc.constantFrom("true", "1", "-1", "1e999", "NaN", "0x10"), weight: 16 }, { arbitrary: sandboxPath(world), weight: 16 }, { arbitrary: HUGE, weight: 1 });
  return fc.array(fc.tuple(key, value), { maxLength: 4 }).map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&")}`));
}

const HEADER_SAFE = (text: string): string => text.replace(/[^\x20-\x7e]/g, "");

/** Mostly no extra headers: a foreign Origin, or a deadline of nothing, ends a request before it reaches anything. */
function headersOf(): fc.Arbitrary<Record<string, string>> {
  return fc.oneof({ arbitrary: fc.constant({}), weight: 6 }, { arbitrary: someHeaders(), weight: 1 });
}

function someHeaders(): fc.Arbitrary<Record<string, string>> {
  const optional = fc.record(
    {
      "Grpc-Timeout": fc.constantFrom("1S", "100m", "garbage", "99999999H", "0n"),
      "Grpc-Metadata-Fuzz": nastyString.map(HEADER_SAFE),
      "X-Clipboard-Type": nastyString.map(HEADER_SAFE),
      Accept: fc.constantFrom("application/x-ndjson", "*/*", "text/html"),
      Origin: fc.constantFrom("http://evil.example", "http://127.0.0.1"),
    },
    { requiredKeys: [] },
  );
  return optional.map((headers) => ({ ...headers }));
}

const OTHER_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/** A request to one of the routes: its method (now and then another), path, query, headers and body. */
export function requestTo(world: FuzzWorld, surface: FuzzRequest["surface"], route: Route): fc.Arbitrary<FuzzRequest> {
  const method = fc.oneof({ arbitrary: fc.constant(route.httpMethod), weight: 9 }, { arbitrary: fc.constantFrom(...OTHER_METHODS), weight: 1 });
  return fc.record({ method, path: pathOf(world, route), query: queryOf(world, route), headers: headersOf(), body: bodyOf(world, route) }).map(({ method: m, path, query, headers, body }) => ({
    surface,
    route: `${route.httpMethod} ${route.template.source}`,
    method: m,
    target: `${path}${query}`,
    headers: body.contentType === undefined ? headers : { ...headers, "Content-Type": body.contentType },
    body: m === "GET" || m === "HEAD" ? undefined : body.body,
  }));
}
