import { create } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { JsonCodec, JsonDecodeError } from "../../gateway/transcoder/json-codec";
import { libraryDescriptorSet } from "../fixtures/library-server";

describe("JSON codec", () => {
  const contract = loadContract(libraryDescriptorSet());
  const book = contract.registry.getMessage("ghostd.fixture.v1.Book");
  const search = contract.registry.getMessage("ghostd.fixture.v1.SearchBooksRequest");
  if (!book || !search) throw new Error("fixture types missing");
  const snake = new JsonCodec(contract, { protoNames: true });
  const camel = new JsonCodec(contract, { protoNames: false });

  it("writes enum values in their json_value spelling, others by name", () => {
    assert.equal((snake.encode(book, create(book, { genre: 1 })) as { genre: string }).genre, "sci-fi");
    assert.equal((snake.encode(book, create(book, { genre: 2 })) as { genre: string }).genre, "GENRE_POETRY");
  });

  it("reads an enum by spelling, name or number, and refuses unknown names", () => {
    for (const genre of ["sci-fi", "GENRE_SCIENCE_FICTION", 1]) {
      assert.equal((snake.decode(book, { genre }) as unknown as { genre: number }).genre, 1, String(genre));
    }
    assert.throws(() => snake.decode(book, { genre: "romance" }), (err: unknown) => err instanceof JsonDecodeError && /"genre"/.test(err.message));
  });

  it("writes 64-bit integers as numbers while exact, as strings beyond", () => {
    const exact = snake.encode(book, create(book, { pages: 2n ** 52n })) as { pages: unknown };
    assert.equal(exact.pages, 2 ** 52);
    const huge = snake.encode(book, create(book, { isbn: 2n ** 63n + 5n })) as { isbn: unknown };
    assert.equal(huge.isbn, "9223372036854775813");
  });

  it("names fields per surface and reads either spelling", () => {
    assert.ok("author_name" in (snake.encode(book, create(book, {})) as object));
    assert.ok("authorName" in (camel.encode(book, create(book, {})) as object));
    assert.equal((camel.decode(book, { author_name: "A" }) as unknown as { authorName: string }).authorName, "A");
    assert.equal((snake.decode(book, { authorName: "B" }) as unknown as { authorName: string }).authorName, "B");
  });

  it("rewrites nested, repeated and well-known fields correctly", () => {
    const decoded = snake.decode(search, { genres: ["sci-fi", "GENRE_POETRY"], filter: { genre: "sci-fi" }, since: "2021-02-03T04:05:06Z" });
    const json = snake.encode(search, decoded) as { genres: string[]; filter: { genre: string }; since: string };
    assert.deepEqual(json.genres, ["sci-fi", "GENRE_POETRY"]);
    assert.equal(json.filter.genre, "sci-fi");
    assert.equal(json.since, "2021-02-03T04:05:06Z");
  });

  it("ignores unknown fields and names the field of a wrong type", () => {
    assert.doesNotThrow(() => snake.decode(book, { no_such_field: 1 }));
    assert.throws(() => snake.decode(book, { title: 7 }), /invalid value for field "title": expected string/);
  });

  it("lists an enum's spellings", () => {
    const genre = book.fields.find((f) => f.name === "genre");
    assert.ok(genre?.fieldKind === "enum");
    assert.deepEqual(snake.enumSpellings(genre.enum), ["GENRE_UNSPECIFIED", "sci-fi", "GENRE_POETRY"]);
  });
});
