import { Metadata } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { GatewayError } from "../../gateway/transcoder/errors";
import { deadlineOf, requestMetadata, responseHeaders } from "../../gateway/transcoder/metadata";

describe("metadata and deadlines", () => {
  it("reads Grpc-Timeout in each of gRPC's units", () => {
    const now = 1_000_000;
    assert.equal(deadlineOf("2H", now)?.getTime(), now + 7_200_000);
    assert.equal(deadlineOf("3M", now)?.getTime(), now + 180_000);
    assert.equal(deadlineOf("5S", now)?.getTime(), now + 5000);
    assert.equal(deadlineOf("250m", now)?.getTime(), now + 250);
    assert.equal(deadlineOf("4000u", now)?.getTime(), now + 4);
    assert.equal(deadlineOf("7000000n", now)?.getTime(), now + 7);
    assert.equal(deadlineOf(undefined, now), undefined);
    for (const bad of ["5", "S", "1.5S", "123456789S", "5s"]) assert.throws(() => deadlineOf(bad, now), GatewayError, bad);
  });

  it("forwards Authorization, Grpc-Metadata-* and named headers, decoding -bin values", () => {
    const md = requestMetadata(
      {
        authorization: "Bearer x",
        "grpc-metadata-trace": "t1",
        "grpc-metadata-blob-bin": Buffer.from([1, 2]).toString("base64"),
        "grpc-metadata-grpc-timeout": "1S",
        "x-clipboard-type": "public.png",
        cookie: "secret",
      },
      ["x-clipboard-type"],
    );
    assert.deepEqual(md.get("authorization"), ["Bearer x"]);
    assert.deepEqual(md.get("trace"), ["t1"]);
    assert.deepEqual(md.get("blob-bin"), [Buffer.from([1, 2])]);
    assert.deepEqual(md.get("x-clipboard-type"), ["public.png"]);
    assert.deepEqual(md.get("cookie"), []);
    assert.deepEqual(md.get("grpc-timeout"), [], "reserved keys cannot be injected");
  });

  it("writes response metadata under mapped names or Grpc-Metadata-*", () => {
    const md = new Metadata();
    md.set("x-clipboard-type", "public.utf8-plain-text");
    md.set("x-custom", "1");
    md.set("content-type", "application/grpc");
    md.set("grpc-accept-encoding", "gzip");
    assert.deepEqual(responseHeaders(md, { "x-clipboard-type": "X-Clipboard-Type" }), {
      "X-Clipboard-Type": "public.utf8-plain-text",
      "Grpc-Metadata-x-custom": "1",
    });
  });
});
