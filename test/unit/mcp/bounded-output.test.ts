import type { JsonValue } from "@bufbuild/protobuf";
import fc from "fast-check";
import assert from "node:assert/strict";
import { boundOutput } from "../../../gateway/mcp/bounded-output";

const size = (value: JsonValue): number => JSON.stringify(value).length;

describe("MCP tool outputs: bounded, and saying what was cut", () => {
  it("leaves an output that fits as it is, with nothing said", () => {
    const value = { stdout: "hello\n", exit_code: 0 };
    assert.deepEqual(boundOutput(value, 100, false), { value, cuts: [] });
  });

  it("cuts a long text at its end, marking the place, and says how much went", () => {
    const { value, cuts } = boundOutput({ text: "a".repeat(10_000), size: 10_000 }, 1_000, false);
    const text = (value as { text: string }).text;
    assert.ok(size(value) <= 1_000 && size(value) > 900, `as much as fits is kept: ${size(value)}`);
    assert.match(text, /^a+\[… [\d,]+ characters cut …\]$/);
    const kept = text.indexOf("[");
    assert.deepEqual(cuts, [`text lost ${(10_000 - kept).toLocaleString("en-US")} of its 10,000 characters at its end`]);
  });

  it("keeps the end when told to: a command's last output, a screen's bottom", () => {
    const lines = Array.from({ length: 2_000 }, (_, i) => `line ${i}`).join("\n");
    const { value, cuts } = boundOutput({ stdout: lines }, 500, true);
    const stdout = (value as { stdout: string }).stdout;
    assert.match(stdout, /^\[… [\d,]+ characters cut …\]/);
    assert.ok(stdout.endsWith("line 1998\nline 1999"));
    assert.match(cuts[0] ?? "", /^stdout lost [\d,]+ of its [\d,]+ characters at its start$/);
  });

  it("drops a list's oldest items when keeping the end, naming the list by its path", () => {
    const entries = Array.from({ length: 100 }, (_, i) => ({ line: `entry ${i}`, service_name: "api" }));
    const { value, cuts } = boundOutput({ logs: { entries } }, 1_000, true);
    const kept = (value as { logs: { entries: { line: string }[] } }).logs.entries;
    assert.ok(kept.length > 0 && kept.length < 100);
    assert.equal(kept[kept.length - 1]?.line, "entry 99");
    assert.deepEqual(cuts, [`logs.entries lost ${100 - kept.length} of its 100 items at its start (the oldest)`]);
  });

  it("counts escapes: a text of line breaks is cut to fit its JSON, not its length", () => {
    const { value } = boundOutput({ screen: "\n".repeat(5_000) }, 1_000, false);
    assert.ok(size(value) <= 1_000, String(size(value)));
  });

  it("cuts a mass of small fields as one text, saying so", () => {
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    const { value, cuts } = boundOutput(many, 300, false);
    assert.equal(typeof value, "string");
    assert.ok(size(value) <= 300);
    assert.match(cuts[cuts.length - 1] ?? "", /^the output's JSON text lost [\d,]+ of its [\d,]+ characters at its end, since nothing in it was long enough to cut alone$/);
  });

  it("fits any output into the bound, and says so whenever it cut", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.integer({ min: 200, max: 4_000 }), fc.boolean(), (json, limit, keepEnd) => {
        const value = json as JsonValue;
        const { value: bounded, cuts } = boundOutput(value, limit, keepEnd);
        if (size(value) <= limit) return assert.deepEqual([bounded, cuts], [value, []]);
        assert.ok(size(bounded) <= limit, `${size(bounded)} > ${limit}`);
        assert.ok(cuts.length > 0, "a cut is always said");
      }),
      { numRuns: 200 },
    );
  });
});
