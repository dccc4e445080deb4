import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

/** The project's root, from dist/test/unit. */
const ROOT = join(__dirname, "..", "..", "..");
/** The core and the gateway: where a newcomer reads first. */
const TREES = ["server", "gateway"];
const MAX_FUNCTION_LINES = 60;
const MAX_CLASS_LINES = 250;

interface Shape {
  readonly where: string;
  readonly lines: number;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Every function with a body and every class, with its length in lines, nested ones counted in their parents too. */
function shapes(file: string): { functions: Shape[]; classes: Shape[] } {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const functions: Shape[] = [];
  const classes: Shape[] = [];
  const measure = (node: ts.Node): Shape => {
    const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
    const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
    const name = (node as { name?: ts.Node }).name?.getText(source) ?? "<anonymous>";
    return { where: `${relative(ROOT, file)}:${start + 1} ${name}`, lines: end - start + 1 };
  };
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) functions.push(measure(node));
    if (ts.isClassLike(node)) classes.push(measure(node));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { functions, classes };
}

describe("code shape of server/ and gateway/", () => {
  const all = TREES.flatMap((tree) => sources(join(ROOT, tree))).map(shapes);

  it(`has no function of ${MAX_FUNCTION_LINES} lines or more: a function that needs scrolling is two`, () => {
    const long = all.flatMap((s) => s.functions).filter((f) => f.lines >= MAX_FUNCTION_LINES);
    assert.deepEqual(long.map((f) => `${f.where} (${f.lines} lines)`), []);
  });

  it(`has no class of ${MAX_CLASS_LINES} lines or more`, () => {
    const large = all.flatMap((s) => s.classes).filter((c) => c.lines >= MAX_CLASS_LINES);
    assert.deepEqual(large.map((c) => `${c.where} (${c.lines} lines)`), []);
  });

  it("measures something: the trees hold functions and classes", () => {
    assert.ok(all.flatMap((s) => s.functions).length > 100);
    assert.ok(all.flatMap((s) => s.classes).length > 5);
  });
});
