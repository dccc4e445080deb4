import assert from "node:assert/strict";
import { demuxLogs } from "../helpers/containers";
import { imageCacheDir } from "../helpers/images";

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe("container test helpers", () => {
  it("split a container's log stream into stdout and stderr, in order, across frames", () => {
    const raw = Buffer.concat([frame(1, "one\n"), frame(2, "oops\n"), frame(1, "two\n"), frame(1, "")]);
    assert.deepEqual(demuxLogs(raw), { stdout: "one\ntwo\n", stderr: "oops\n" });
  });

  it("keep built images where GHOSTD_TEST_IMAGE_CACHE says", () => {
    assert.equal(imageCacheDir({ GHOSTD_TEST_IMAGE_CACHE: "/somewhere/else" }), "/somewhere/else");
  });
});
