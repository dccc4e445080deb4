import assert from "node:assert/strict";
import { runGhostd } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";

/** What ghostd listens on: nothing beyond this machine unless asked for by name. */
describe("security: listeners", function () {
  this.timeout(30_000);

  for (const mode of ["agent", "serve"]) {
    it(`${mode}: refuses --grpc-tcp on a non-loopback address without --allow-remote`, async () => {
      const home = tempDir("ghostd-sec-listen-");
      try {
        const noHttp = mode === "serve" ? ["--http", "off"] : [];
        const run = await runGhostd([mode, "--home", home.path, ...noHttp, "--grpc-tcp", "0.0.0.0:0"], {}, 10_000);
        assert.equal(run.code, 1, run.output);
        assert.match(run.output, /refusing to listen on 0\.0\.0\.0: not a loopback address \(pass --allow-remote/);
      } finally {
        home.remove();
      }
    });
  }
});
