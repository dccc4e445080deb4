import assert from "node:assert/strict";
import { compareSpecificity, displayPath, matchTemplate, parseTemplate, TemplateError } from "../../gateway/transcoder/path-template";

describe("path templates", () => {
  it("parses literals, variables, patterns, ** and verbs", () => {
    const t = parseTemplate("/v1/{name=shelves/*/books/*}:publish");
    assert.equal(t.verb, "publish");
    assert.deepEqual(t.variables, [{ fieldPath: "name", start: 1, end: 5 }]);
    assert.deepEqual(t.segments.map((s) => s.kind), ["literal", "literal", "wildcard", "literal", "wildcard"]);
    assert.equal(parseTemplate("/v1/files/{path=**}").segments.at(-1)?.kind, "deep");
    assert.equal(parseTemplate("/api/v2/terminals/{id}").verb, undefined);
  });

  it("rejects malformed templates", () => {
    for (const bad of ["v1/x", "/v1/{a", "/v1/{a}/{a}", "/v1/**/x", "/v1/{a.}", "/v1/x:", "/v1/{a={b}}", "/v1//x"]) {
      assert.throws(() => parseTemplate(bad), TemplateError, bad);
    }
  });

  it("matches and decodes variables", () => {
    const t = parseTemplate("/v1/shelves/{shelf.name}/books/{book_id}");
    assert.deepEqual([...(matchTemplate(t, "/v1/shelves/a%20b/books/c") ?? [])], [
      ["shelf.name", "a b"],
      ["book_id", "c"],
    ]);
    assert.equal(matchTemplate(t, "/v1/shelves/a/books"), undefined);
    assert.equal(matchTemplate(t, "/v1/shelves//books/c"), undefined, "a variable never matches an empty segment");
    assert.equal(matchTemplate(t, "/v1/shelves/%E0%A4%A/books/c"), undefined, "bad percent-encoding does not match");
  });

  it("matches ** against zero or more segments and keeps %2F", () => {
    const t = parseTemplate("/files/{path=**}");
    assert.equal(matchTemplate(t, "/files/a/b%2Fc/d%20e")?.get("path"), "a/b%2Fc/d e");
    assert.equal(matchTemplate(t, "/files")?.get("path"), "");
  });

  it("requires the verb when the template has one", () => {
    const t = parseTemplate("/v1/things/{id}:archive");
    assert.equal(matchTemplate(t, "/v1/things/x:archive")?.get("id"), "x");
    assert.equal(matchTemplate(t, "/v1/things/x"), undefined);
    assert.equal(matchTemplate(parseTemplate("/v1/things/{id}"), "/v1/things/x:archive")?.get("id"), "x:archive");
  });

  it("orders literal before variable before **, and verbs first", () => {
    const ordered = ["/t/focused", "/t/{id}", "/t/{id=**}"].map(parseTemplate);
    assert.deepEqual([...ordered].reverse().sort(compareSpecificity).map((t) => t.source), ["/t/focused", "/t/{id}", "/t/{id=**}"]);
    assert.ok(compareSpecificity(parseTemplate("/t/{id}:go"), parseTemplate("/t/{id}")) < 0);
  });

  it("displays variables by their field path", () => {
    assert.equal(displayPath(parseTemplate("/v1/{name=shelves/*}/x:go")), "/v1/{name}/x:go");
    assert.equal(displayPath(parseTemplate("/api/v2/terminals/{id}/details/{type}")), "/api/v2/terminals/{id}/details/{type}");
  });
});
