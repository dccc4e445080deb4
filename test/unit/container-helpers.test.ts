import assert from "node:assert/strict";
import { demuxLogs } from "../helpers/containers";
import { dockerOptions, engineCandidates } from "../helpers/engine";
import { imageCacheDir } from "../helpers/images";

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe("container test helpers", () => {
  it("look for the engine at DOCKER_HOST alone when it is set, so a test never runs against another engine", () => {
    assert.deepEqual(engineCandidates({ DOCKER_HOST: "unix:///tmp/x.sock" }), ["unix:///tmp/x.sock"]);
  });

  it("otherwise look at Docker's socket, then Podman's root socket", () => {
    assert.deepEqual(engineCandidates({}).slice(0, 2), ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock"]);
  });

  it("reach unix sockets by path and tcp:// hosts over plain HTTP", () => {
    assert.deepEqual(dockerOptions("unix:///run/podman/podman.sock"), { socketPath: "/run/podman/podman.sock" });
    assert.deepEqual(dockerOptions("tcp://10.0.0.2:2376"), { protocol: "http", host: "10.0.0.2", port: 2376 });
    assert.deepEqual(dockerOptions("tcp://engine"), { protocol: "http", host: "engine", port: 2375 });
  });

  it("split a container's log stream into stdout and stderr, in order, across frames", () => {
    const raw = Buffer.concat([frame(1, "one\n"), frame(2, "oops\n"), frame(1, "two\n"), frame(1, "")]);
    assert.deepEqual(demuxLogs(raw), { stdout: "one\ntwo\n", stderr: "oops\n" });
  });

  it("keep built images where GHOSTD_TEST_IMAGE_CACHE says", () => {
    assert.equal(imageCacheDir({ GHOSTD_TEST_IMAGE_CACHE: "/somewhere/else" }), "/somewhere/else");
  });
});
