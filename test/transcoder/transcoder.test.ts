import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { call, ndjson } from "../helpers/http";
import { startFixtureGateway, type FixtureGateway } from "../helpers/fixture-gateway";
import { waitFor } from "../helpers/wait";

for (const calls of ["grpc", "in-process"] as const) {
  // The transcoder over the test-only fixture service (test/fixtures/proto): every rule of
  // google.api.http transcoding, through a real HTTP listener, to the service over a real gRPC
  // server and in-process as `ghostd serve` calls its own, so the two upstreams cannot drift.
  describe(`transcoder, calling ${calls}`, () => {
    let gw: FixtureGateway;
    const get = (path: string, headers?: Record<string, string>) => call({ base: gw.base, path, ...(headers ? { headers } : {}) });
    const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
      call({ base: gw.base, method: "POST", path, body, headers: { "Content-Type": "application/json", ...headers } });

    before(async () => {
      gw = await startFixtureGateway({ calls });
    });
    after(async () => {
      await gw.close();
    });

    describe("path templates", () => {
      it("binds {field} and writes proto field names, enum spellings, int64 numbers and timestamps", async () => {
        const reply = await get("/v1/books/b1");
        assert.equal(reply.status, 200);
        assert.match(String(reply.headers["content-type"]), /^application\/json/);
        const { book } = reply.json<{ book: Record<string, unknown> }>();
        assert.equal(book.book_id, "b1");
        assert.equal(book.author_name, "Ann Author");
        assert.equal(book.genre, "sci-fi");
        assert.equal(book.pages, 2 ** 40);
        assert.equal(book.published, "2020-05-17T10:00:00Z");
        assert.deepEqual(book.labels, { shelf: "top" });
        assert.equal(book.archived, false, "default values are written, not dropped");
        assert.equal("subtitle" in book, false, "an unset optional field is left out");
      });

      it("binds a nested field path from an additional binding", async () => {
        const reply = await get("/v1/shelves/top%20shelf/books/b2");
        assert.equal(reply.status, 200);
        assert.equal(reply.json().shelf_name, "top shelf");
        assert.equal(reply.json<{ book: { book_id: string } }>().book.book_id, "b2");
      });

      it("binds {field=**} to the rest of the path, keeping %2F encoded", async () => {
        assert.equal((await get("/v1/files/a/b/c.txt")).json().path, "a/b/c.txt");
        assert.equal((await get("/v1/files/a%2Fb/c%20d")).json().path, "a%2Fb/c d");
      });

      it("binds {field=pattern} spanning several segments", async () => {
        assert.equal((await get("/v1/libraries/l1/shelves/s2")).json().name, "libraries/l1/shelves/s2");
        assert.equal((await get("/v1/libraries/l1/rooms/s2")).status, 404);
      });

      it("matches a :verb suffix and takes the whole body with body \"*\"", async () => {
        const reply = await post("/v1/books/b1:archive", JSON.stringify({ reason: "worn out", notify: true }));
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.json(), { book_id: "b1", reason: "worn out", notify: true });
      });

      it("lets the path win over the same field in the body", async () => {
        const reply = await post("/v1/books/b1:archive", JSON.stringify({ book_id: "other", reason: "r" }));
        assert.equal(reply.json().book_id, "b1");
      });

      it("prefers an exact template to a {path=**} that would match nothing", async () => {
        assert.deepEqual((await get("/v1/files")).json(), { shelves: ["top", "bottom"] });
        assert.equal((await get("/v1/files/x")).json().path, "x");
      });

      it("accepts a trailing slash", async () => {
        assert.equal((await get("/v1/books/b3/")).json<{ book: { book_id: string } }>().book.book_id, "b3");
      });
    });

    describe("bodies and query parameters", () => {
      it("maps body \"field\" to that field and the query to the others, never to the body's", async () => {
        const reply = await post("/v1/shelves/s1/books?validate_only=true&requestId=r-9&book.title=ignored", JSON.stringify({ title: "T", genre: "sci-fi" }));
        assert.equal(reply.status, 200);
        const body = reply.json<{ shelf: string; validate_only: boolean; request_id: string; book: { title: string; genre: string } }>();
        assert.equal(body.shelf, "s1");
        assert.equal(body.validate_only, true);
        assert.equal(body.request_id, "r-9");
        assert.equal(body.book.title, "T");
        assert.equal(body.book.genre, "sci-fi");
      });

      it("fills every kind of field from the query, by proto or JSON name", async () => {
        const query = [
          "query=dune",
          "page_size=5",
          "minPages=7",
          "include_archived=true",
          "min_rating=4.5",
          "genre=sci-fi",
          "tags=a",
          "tags=b",
          "genres=GENRE_POETRY",
          "genres=sci-fi",
          "genres=1",
          "filter.author_name=Ann",
          "filter.minYear=1999",
          "since=2020-01-01T00:00:00Z",
          "limit=0",
          "cursor=AAEC",
          "no_such_parameter=1",
        ].join("&");
        const reply = await get(`/v1/books?${query}`);
        assert.equal(reply.status, 200, reply.text);
        const echoed = reply.json<{ request: Record<string, unknown> }>().request;
        assert.equal(echoed.query, "dune");
        assert.equal(echoed.page_size, 5);
        assert.equal(echoed.min_pages, 7);
        assert.equal(echoed.include_archived, true);
        assert.equal(echoed.min_rating, 4.5);
        assert.equal(echoed.genre, "sci-fi");
        assert.deepEqual(echoed.tags, ["a", "b"]);
        assert.deepEqual(echoed.genres, ["GENRE_POETRY", "sci-fi", "sci-fi"]);
        assert.deepEqual(echoed.filter, { author_name: "Ann", min_year: 1999, genre: "GENRE_UNSPECIFIED" });
        assert.equal(echoed.since, "2020-01-01T00:00:00Z");
        assert.equal(echoed.limit, 0, "an optional field set to zero is present");
        assert.equal(echoed.cursor, "AAEC");
      });

      it("ignores the query when the body is \"*\"", async () => {
        const reply = await post("/v1/books/b1:archive?notify=true", JSON.stringify({ reason: "r" }));
        assert.equal(reply.json().notify, false);
      });

      it("answers 400 naming a query parameter of the wrong type", async () => {
        const reply = await get("/v1/books?page_size=many");
        assert.equal(reply.status, 400);
        assert.equal(reply.json().error, "invalid_argument");
        assert.match(String(reply.json().message), /page_size/);
        assert.equal((await get("/v1/books?include_archived=yes")).status, 400);
        assert.equal((await get("/v1/books?isbn=-1")).status, 400);
      });
    });

    describe("responses", () => {
      it("writes only the response_body field", async () => {
        const reply = await get("/v1/books/b1/title");
        assert.equal(reply.status, 200);
        assert.equal(reply.json<string>(), "Title of b1");
      });

      it("writes a google.api.HttpBody response_body as raw bytes with its content type", async () => {
        const reply = await get("/v1/books/b7/cover");
        assert.equal(reply.status, 200);
        assert.equal(reply.headers["content-type"], "image/png");
        assert.equal(reply.text, "PNG:b7");
      });

      it("answers 204 for an empty google.api.HttpBody", async () => {
        const reply = await get("/v1/books/empty/cover");
        assert.equal(reply.status, 204);
        assert.equal(reply.body.length, 0);
      });

      it("writes a google.api.HttpBody response as raw bytes", async () => {
        const reply = await get("/v1/raw/world");
        assert.equal(reply.headers["content-type"], "text/plain");
        assert.equal(reply.text, "hello world");
      });
    });

    describe("google.api.HttpBody requests", () => {
      const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x7b, 0x22]);
      const digest = createHash("sha256").update(bytes).digest("hex");

      it("passes a raw body into an HttpBody body field, with the query filling the rest", async () => {
        const reply = await call({ base: gw.base, method: "PUT", path: "/v1/books/b1/cover?note=scan", body: bytes, headers: { "Content-Type": "image/jpeg" } });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.json(), { book_id: "b1", content_type: "image/jpeg", size: bytes.length, sha256: digest, note: "scan" });
      });

      it("passes a raw body as a whole HttpBody request", async () => {
        const reply = await call({ base: gw.base, method: "POST", path: "/v1/raw", body: bytes, headers: { "Content-Type": "application/octet-stream" } });
        assert.deepEqual(reply.json(), { content_type: "application/octet-stream", size: bytes.length, sha256: digest });
      });
    });

    describe("server streaming", () => {
      it("writes one {\"result\": ...} line per message, chunked", async () => {
        const reply = await get("/v1/books/b1:watch?count=3");
        assert.equal(reply.status, 200);
        assert.equal(reply.headers["transfer-encoding"], "chunked");
        assert.match(String(reply.headers["content-type"]), /^application\/x-ndjson/);
        assert.deepEqual(ndjson(reply), [1, 2, 3].map((sequence) => ({ result: { book_id: "b1", sequence } })));
      });

      it("ends a failing stream with an {\"error\": ...} line", async () => {
        const lines = ndjson(await get("/v1/books/b1:watch?count=5&fail_after=2"));
        assert.equal(lines.length, 3);
        assert.deepEqual(lines[2], { error: { error: "book_gone", message: "book b1 went away" } });
      });

      it("answers an ordinary error response when the stream fails before its first message", async () => {
        const reply = await get("/v1/books/b1:watch?count=3&fail_after=0");
        assert.equal(reply.status, 404);
        assert.deepEqual(reply.json(), { error: "book_gone", message: "book b1 went away" });
      });

      it("answers an empty stream with no lines", async () => {
        const reply = await get("/v1/books/b1:watch?count=0");
        assert.equal(reply.status, 200);
        assert.equal(reply.text, "");
      });

      it("streams google.api.HttpBody messages as raw chunks", async () => {
        const reply = await get("/v1/books/b1/cover:stream?chunks=3");
        assert.equal(reply.headers["content-type"], "text/plain");
        assert.equal(reply.text, "chunk-1\nchunk-2\nchunk-3\n");
      });

      it("streams the raw bytes of a response_body google.api.HttpBody field", async () => {
        const reply = await get("/v1/books/b1/pages?pages=2");
        assert.equal(reply.headers["content-type"], "text/markdown");
        assert.equal(reply.text, "# page 1\n# page 2\n");
      });

      it("streams only the response_body field of each message as its result", async () => {
        assert.deepEqual(ndjson(await get("/v1/books/b9/titles?count=2")), [{ result: "b9 v1" }, { result: "b9 v2" }]);
      });

      it("cancels the call when the client goes away", async () => {
        const before = gw.library.cancelledStreams();
        await new Promise<void>((resolve, reject) => {
          const url = new URL(gw.base);
          const req = request({ host: url.hostname, port: url.port, path: "/v1/books/b1:watch?count=1&hold=true", agent: false }, (res) => {
            res.once("data", () => {
              req.destroy();
              resolve();
            });
          });
          req.on("error", (err) => (req.destroyed ? undefined : reject(err)));
          req.end();
        });
        await waitFor("the server to see the stream cancelled", () => gw.library.cancelledStreams() > before);
      });
    });

    describe("metadata and deadlines", () => {
      it("passes Authorization, Grpc-Metadata-* and the surface's headers as metadata, and nothing else", async () => {
        const reply = await get("/v1/inspect", {
          Authorization: "Bearer t0ken",
          "Grpc-Metadata-Trace-Id": "abc",
          "X-Forward-Me": "yes",
          "X-Not-Forwarded": "no",
        });
        const { metadata } = reply.json<{ metadata: Record<string, string> }>();
        assert.equal(metadata.authorization, "Bearer t0ken");
        assert.equal(metadata["trace-id"], "abc");
        assert.equal(metadata["x-forward-me"], "yes");
        assert.equal(metadata["x-not-forwarded"], undefined);
      });

      it("writes response metadata as mapped headers or Grpc-Metadata-*", async () => {
        const reply = await get("/v1/inspect");
        assert.equal(reply.headers.etag, "v1");
        assert.equal(reply.headers["grpc-metadata-x-other"], "other");
        assert.equal(reply.headers["grpc-metadata-content-type"], undefined, "transport headers stay inside");
      });

      it("sets the deadline from Grpc-Timeout", async () => {
        const none = (await get("/v1/inspect")).json();
        assert.equal(none.has_deadline, false);
        const timed = (await get("/v1/inspect", { "Grpc-Timeout": "5S" })).json<{ has_deadline: boolean; deadline_ms: number }>();
        assert.equal(timed.has_deadline, true);
        assert.ok(timed.deadline_ms > 3000 && timed.deadline_ms <= 5000, `deadline ${timed.deadline_ms} ms`);
      });

      it("answers 504 when the deadline passes, and 400 for a malformed Grpc-Timeout", async () => {
        const late = await get("/v1/inspect?delay_ms=2000", { "Grpc-Timeout": "100m" });
        assert.equal(late.status, 504);
        assert.equal(late.json().error, "deadline_exceeded");
        const bad = await get("/v1/inspect", { "Grpc-Timeout": "soon" });
        assert.equal(bad.status, 400);
        assert.equal(bad.json().error, "invalid_timeout");
      });
    });

    describe("errors", () => {
      const fail = (body: object) => post("/v1/fail", JSON.stringify(body));

      it("maps the gRPC code to the HTTP status and keeps the ErrorInfo reason", async () => {
        const reply = await fail({ code: 5, reason: "book_missing", message: "no such book" });
        assert.equal(reply.status, 404);
        assert.deepEqual(reply.json(), { error: "book_missing", message: "no such book" });
        assert.equal((await fail({ code: 9, reason: "r", message: "m" })).status, 400);
        assert.equal((await fail({ code: 6, reason: "r", message: "m" })).status, 409);
        assert.equal((await fail({ code: 14, reason: "r", message: "m" })).status, 503);
        assert.equal((await fail({ code: 12, reason: "r", message: "m" })).status, 501);
      });

      it("uses the surface's status for a reason it lists", async () => {
        const reply = await fail({ code: 9, reason: "teapot", message: "short and stout" });
        assert.equal(reply.status, 418);
      });

      it("answers 400 missing_field for a required field that is absent", async () => {
        const reply = await post("/v1/books/b1:archive", "{}");
        assert.equal(reply.status, 400);
        assert.deepEqual(reply.json(), { error: "missing_field", message: 'missing required field "reason"' });
        const nested = await post("/v1/shelves/s1/books", "");
        assert.equal(nested.status, 400);
        assert.equal(nested.json().error, "missing_field");
      });

      it("answers 400 invalid_json for bodies that are not JSON or have the wrong types", async () => {
        for (const body of ["{", "[1]", '"text"', '{"reason": 5}', '{"reason": "r", "notify": "yes"}']) {
          const reply = await post("/v1/books/b1:archive", body);
          assert.equal(reply.status, 400, body);
          assert.equal(reply.json().error, "invalid_json", body);
        }
        const typed = await post("/v1/books/b1:archive", '{"reason": 5}');
        assert.match(String(typed.json().message), /"reason"/);
      });

      it("answers 400 invalid_json for an enum value that does not exist, naming the field", async () => {
        const reply = await post("/v1/shelves/s1/books", JSON.stringify({ genre: "romance" }));
        assert.equal(reply.status, 400);
        assert.equal(reply.json().error, "invalid_json");
        assert.match(String(reply.json().message), /"genre".*romance.*sci-fi/);
        const query = await call({ base: gw.base, path: "/v1/books?genre=romance" });
        assert.equal(query.status, 400);
      });

      it("answers 404 for an unknown path and 405 with Allow for a wrong method", async () => {
        const missing = await get("/v1/nothing/here");
        assert.equal(missing.status, 404);
        assert.equal(missing.json().error, "not_found");
        const wrong = await call({ base: gw.base, method: "DELETE", path: "/v1/books/b1" });
        assert.equal(wrong.status, 405);
        assert.equal(wrong.headers.allow, "GET");
        assert.equal(wrong.json().error, "method_not_allowed");
      });

      it("has no route for a method without an http annotation", async () => {
        const reply = await get("/ghostd.fixture.v1.Library/Hidden");
        assert.equal(reply.status, 404);
      });

      it("answers 413 for a body over the limit, declared or chunked", async () => {
        const big = JSON.stringify({ reason: "x".repeat(65 * 1024) });
        const declared = await post("/v1/books/b1:archive", big);
        assert.equal(declared.status, 413);
        assert.equal(declared.json().error, "payload_too_large");
        const chunked = await call({ base: gw.base, method: "POST", path: "/v1/books/b1:archive", body: big, chunked: true });
        assert.equal(chunked.status, 413);
      });

      it("takes raw bodies up to the larger upload limit", async () => {
        const upload = Buffer.alloc(200 * 1024, 0x62);
        const accepted = await call({ base: gw.base, method: "POST", path: "/v1/raw", body: upload });
        assert.equal(accepted.json().size, upload.length);
        const tooBig = await call({ base: gw.base, method: "POST", path: "/v1/raw", body: Buffer.alloc(300 * 1024) });
        assert.equal(tooBig.status, 413);
      });
    });

    describe("documents from the route table", () => {
      it("serves a discovery index of the prefix's endpoints", async () => {
        const index = (await get("/v1/")).json<{ version: string; endpoints: string[] }>();
        assert.equal(index.version, "1");
        assert.ok(index.endpoints.includes("GET /v1/books/{book_id}"));
        assert.ok(index.endpoints.includes("GET /v1/files/{path}"));
        assert.ok(index.endpoints.includes("POST /v1/books/{book_id}:archive"));
        assert.equal(index.endpoints.length, 19);
      });

      it("serves an OpenAPI document with every route", async () => {
        const doc = (await get("/openapi.json")).json<{ openapi: string; paths: Record<string, Record<string, { operationId: string; parameters: { name: string; in: string }[] }>>; components: { schemas: Record<string, { enum?: string[]; properties?: Record<string, unknown> }> } }>();
        assert.equal(doc.openapi, "3.1.0");
        const operations = Object.values(doc.paths).flatMap((item) => Object.values(item));
        assert.equal(operations.length, 19);
        assert.equal(new Set(operations.map((o) => o.operationId)).size, 19);
        // The zero value means unset, so a client never sends it; a value without json_value keeps its name.
        assert.deepEqual(doc.components.schemas["ghostd.fixture.v1.Genre"]?.enum, ["sci-fi", "GENRE_POETRY"]);
        // `body: "*"` under `{book_id}`: the path carries the id, the body does not repeat it.
        assert.deepEqual(Object.keys(doc.components.schemas["ghostd.fixture.v1.ArchiveBookRequest"]?.properties ?? {}), ["reason", "notify"]);
        assert.ok(doc.components.schemas["ghostd.fixture.v1.Book"]?.properties?.author_name);
        const search = doc.paths["/v1/books"]?.get;
        assert.ok(search?.parameters.some((p) => p.name === "filter.author_name" && p.in === "query"));
      });

      it("refuses other methods on a document", async () => {
        const reply = await call({ base: gw.base, method: "POST", path: "/openapi.json", body: "{}" });
        assert.equal(reply.status, 405);
      });
    });
  });

  describe(`transcoder with JSON names, calling ${calls}`, () => {
    let gw: FixtureGateway;
    before(async () => {
      gw = await startFixtureGateway({ surface: { json: { protoNames: false } }, calls });
    });
    after(async () => {
      await gw.close();
    });

    it("writes lowerCamelCase JSON names and still reads both spellings", async () => {
      const { book } = (await call({ base: gw.base, path: "/v1/books/b1" })).json<{ book: Record<string, unknown> }>();
      assert.equal(book.bookId, "b1");
      assert.equal(book.authorName, "Ann Author");
      assert.equal("book_id" in book, false);
      const reply = await call({
        base: gw.base,
        method: "POST",
        path: "/v1/shelves/s/books",
        body: JSON.stringify({ authorName: "A", book_id: "x" }),
      });
      assert.deepEqual(reply.json<{ book: { authorName: string; bookId: string } }>().book.authorName, "A");
      assert.equal(reply.json<{ book: { bookId: string } }>().book.bookId, "x");
    });
  });
}
