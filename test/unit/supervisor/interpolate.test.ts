import assert from "node:assert/strict";
import { envFileVariables, parseEnvFile } from "../../../server/supervisor/env-file";
import { interpolate, InterpolationError } from "../../../server/supervisor/interpolate";

const SET = { NAME: "ghost", EMPTY: "", FOO: "foo" };

describe("interpolation, as the Compose spec writes it", () => {
  it("substitutes $VAR and ${VAR}, and keeps a $ that starts no reference", () => {
    assert.equal(interpolate("$NAME-${NAME}", SET), "ghost-ghost");
    assert.equal(interpolate("cost: $5 and $ alone", SET), "cost: $5 and $ alone");
    assert.equal(interpolate("${MISSING}|$MISSING", SET), "|");
  });

  it("reads every operator: :- - :? ? :+ +", () => {
    assert.equal(interpolate("${EMPTY:-d} ${EMPTY-d} ${MISSING-d}", SET), "d  d");
    assert.equal(interpolate("${NAME:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${MISSING+alt}", SET), "alt||alt|");
    assert.equal(interpolate("${NAME:?unused} ${EMPTY?unused}", SET), "ghost ");
    assert.throws(() => interpolate("${EMPTY:?EMPTY must be set}", SET), (err: unknown) => err instanceof InterpolationError && err.message === "EMPTY is required: EMPTY must be set");
    assert.throws(() => interpolate("${MISSING?}", SET), /MISSING is required: it is not set/);
  });

  it("nests defaults, and interpolates a default only when it is used", () => {
    assert.equal(interpolate("${VARIABLE:-${FOO}}", SET), "foo");
    assert.equal(interpolate("${VARIABLE:-${BAR:-default}}", SET), "default");
    assert.equal(interpolate("${VARIABLE?$FOO}", { VARIABLE: "v", FOO: "f" }), "v");
    assert.throws(() => interpolate("${VARIABLE?$FOO is the reason}", SET), /VARIABLE is required: foo is the reason/);
    assert.equal(interpolate("${NAME:-${MISSING:?never asked}}", SET), "ghost");
  });

  it("takes $$ for a dollar sign, which nothing expands", () => {
    assert.equal(interpolate("$$VAR_NOT_INTERPOLATED_BY_COMPOSE $${NAME}", SET), "$VAR_NOT_INTERPOLATED_BY_COMPOSE ${NAME}");
  });

  it("refuses references Compose does not know, with an error rather than a guess", () => {
    assert.throws(() => interpolate("${VAR/foo/bar}", SET), /"\$\{VAR\/foo\/bar\}" is not a variable reference/);
    assert.throws(() => interpolate("${UNCLOSED:-x", SET), InterpolationError);
    assert.throws(() => interpolate("${}", SET), InterpolationError);
  });

  it("tells of each unset variable no default covers", () => {
    const unset: string[] = [];
    interpolate("$A ${B} ${C:-c} ${D-d} ${E:+e}", {}, { unset: (name) => unset.push(name) });
    assert.deepEqual(unset, ["A", "B"]);
  });

  it("deferred: keeps unknown references and $$ for the second pass, escaping what it substitutes", () => {
    const first = interpolate("$$HOME ${SECRET} ${PORT:-80} $KNOWN ${KNOWN}", { KNOWN: "a$b" }, { defer: true });
    assert.equal(first, "$$HOME ${SECRET} ${PORT:-80} a$$b a$$b");
    assert.equal(interpolate(first, { SECRET: "s", HOME: "/home/x" }), "$HOME s 80 a$b a$b");
    assert.equal(interpolate("${MISSING:-${KNOWN}}", { KNOWN: "k" }, { defer: true }), "${MISSING:-k}");
    assert.equal(interpolate("${MISSING:?needed}", {}, { defer: true }), "${MISSING:?needed}", "required later, when the start gives the secrets");
  });
});

describe("env files, as the Compose spec reads them", () => {
  it("reads the spec's examples of quoting, comments and escapes", () => {
    const entries = parseEnvFile(
      [
        "# Set Rails/Rack environment",
        "RACK_ENV=development",
        'VAR="quoted"',
        "export PLAIN=VAL # comment",
        "HASH=VAL# not a comment",
        'DQ="VAL # not a comment" # comment',
        "SQ='$OTHER'",
        "ESC='Let\\'s go!'",
        'JSON="{\\"hello\\": \\"json\\"}"',
        'TAB="some\\tvalue"',
        "RAWTAB=some\\tvalue",
        "EMPTY=",
        "UNSET",
      ].join("\n"),
    );
    assert.deepEqual(
      entries.map((e) => [e.key, e.value]),
      [
        ["RACK_ENV", "development"],
        ["VAR", "quoted"],
        ["PLAIN", "VAL"],
        ["HASH", "VAL# not a comment"],
        ["DQ", "VAL # not a comment"],
        ["SQ", "$OTHER"],
        ["ESC", "Let's go!"],
        ["JSON", '{"hello": "json"}'],
        ["TAB", "some\tvalue"],
        ["RAWTAB", "some\\tvalue"],
        ["EMPTY", ""],
        ["UNSET", undefined],
      ],
    );
    assert.deepEqual(entries.filter((e) => e.literal).map((e) => e.key), ["SQ", "ESC"]);
  });

  it("as variables: a line may use those above it, a single-quoted one is literal", () => {
    const variables = envFileVariables("HOST=db\nURL=postgres://${HOST}/app\nLITERAL='${HOST}'\n");
    assert.deepEqual([...variables], [["HOST", "db"], ["URL", "postgres://db/app"], ["LITERAL", "${HOST}"]]);
    assert.throws(() => envFileVariables("A=${B:?B is needed}"), /B is required: B is needed/);
  });
});
