import assert from "node:assert/strict";
import { chooseOutput, paint, renderTable } from "../../cli/output-format";

describe("output format", () => {
  it("is a table on a terminal, JSON with --json or into a pipe", () => {
    assert.equal(chooseOutput({ isTTY: true, env: {} }).format, "table");
    assert.equal(chooseOutput({ json: true, isTTY: true, env: {} }).format, "json");
    assert.equal(chooseOutput({ isTTY: false, env: {} }).format, "json");
    assert.equal(chooseOutput({ json: false, isTTY: false, env: {} }).format, "json");
  });

  it("colours a table on a terminal unless NO_COLOR is set and not empty, and never JSON", () => {
    assert.equal(chooseOutput({ isTTY: true, env: {} }).colour, true);
    assert.equal(chooseOutput({ isTTY: true, env: { NO_COLOR: "1" } }).colour, false);
    assert.equal(chooseOutput({ isTTY: true, env: { NO_COLOR: "0" } }).colour, false, "any value counts");
    assert.equal(chooseOutput({ isTTY: true, env: { NO_COLOR: "" } }).colour, true, "empty is unset");
    assert.equal(chooseOutput({ isTTY: false, env: {} }).colour, false);
    assert.equal(chooseOutput({ json: true, isTTY: true, env: {} }).colour, false);
  });

  it("lines columns up under their titles, with no trailing blanks", () => {
    const rows = [
      { name: "a", size: "120x40", on: true },
      { name: "longer", size: "8x2", on: false },
    ];
    const columns = [
      { title: "NAME", value: (r: (typeof rows)[number]) => r.name, style: (r: (typeof rows)[number]) => (r.on ? ("green" as const) : undefined) },
      { title: "SIZE", value: (r: (typeof rows)[number]) => r.size },
    ];
    assert.equal(renderTable(columns, rows, false), "NAME    SIZE\na       120x40\nlonger  8x2\n");
    const coloured = renderTable(columns, rows, true);
    assert.equal(coloured, "\x1b[1mNAME  \x1b[0m  \x1b[1mSIZE\x1b[0m\n\x1b[32ma     \x1b[0m  120x40\nlonger  8x2\n");
    const plain = ["\x1b[1m", "\x1b[32m", "\x1b[0m"].reduce((text, sgr) => text.replaceAll(sgr, ""), coloured);
    assert.equal(plain, renderTable(columns, rows, false), "colour adds escapes only");
  });

  it("paints only when colour is on", () => {
    assert.equal(paint("x", "bold", false), "x");
    assert.equal(paint("x", "bold", true), "\x1b[1mx\x1b[0m");
  });
});
