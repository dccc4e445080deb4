import assert from "node:assert/strict";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { Router } from "../../gateway/transcoder/router";
import { buildRoutes, RouteError } from "../../gateway/transcoder/routes";
import { libraryDescriptorSet } from "../fixtures/library-server";

describe("routes and router", () => {
  const contract = loadContract(libraryDescriptorSet());
  const routes = buildRoutes(contract, ["ghostd.fixture.v1.Library"]);
  const router = new Router(routes);
  const found = (method: string, path: string): string => {
    const match = router.match(method, path);
    if (match.kind !== "found") return assert.fail(`${method} ${path}: ${match.kind}`);
    return `${match.route.method.name} ${JSON.stringify(Object.fromEntries(match.bindings))}`;
  };

  it("builds one route per binding, additional bindings included, none for unannotated methods", () => {
    assert.equal(routes.length, 19);
    assert.equal(routes.filter((r) => !r.primary).length, 1);
    assert.ok(!routes.some((r) => r.method.name === "Hidden"));
    const watch = routes.find((r) => r.method.name === "WatchBook");
    assert.equal(watch?.serverStreaming, true);
    assert.equal(routes.find((r) => r.method.name === "CreateBook")?.bodyField?.name, "book");
    assert.equal(routes.find((r) => r.method.name === "GetCover")?.responseBody?.name, "cover");
  });

  it("picks the route by template and method", () => {
    assert.equal(found("GET", "/v1/books/b1"), 'GetBook {"book_id":"b1"}');
    assert.equal(found("POST", "/v1/books/b1:archive"), 'ArchiveBook {"book_id":"b1"}');
    assert.equal(found("GET", "/v1/books/b1/cover"), 'GetCover {"book_id":"b1"}');
    assert.equal(found("PUT", "/v1/books/b1/cover"), 'PutCover {"book_id":"b1"}');
    assert.equal(found("HEAD", "/v1/books/b1"), 'GetBook {"book_id":"b1"}');
  });

  it("says which methods a known path takes", () => {
    assert.deepEqual(router.match("DELETE", "/v1/books/b1/cover"), { kind: "method_not_allowed", allow: ["GET", "PUT"] });
    assert.deepEqual(router.match("GET", "/v2/books"), { kind: "not_found" });
  });

  it("rejects rules that cannot be served", () => {
    const broken = loadContract(libraryDescriptorSet());
    const rule = broken.httpRule(broken.service("ghostd.fixture.v1.Library").methods[0]!);
    assert.equal(rule?.get, "/v1/books/{book_id}");
    const original = broken.httpRule.bind(broken);
    const withRule = (patch: object) => ({ ...broken, httpRule: (m: Parameters<typeof original>[0]) => (m.name === "GetBook" ? { ...rule, ...patch } : original(m)) });
    assert.throws(() => buildRoutes(withRule({ get: "/v1/{nope}" }), ["ghostd.fixture.v1.Library"]), RouteError);
    assert.throws(() => buildRoutes(withRule({ body: "*" }), ["ghostd.fixture.v1.Library"]), /GET binding cannot take a body/);
    assert.throws(() => buildRoutes(withRule({ responseBody: "nope" }), ["ghostd.fixture.v1.Library"]), /response_body/);
  });
});
