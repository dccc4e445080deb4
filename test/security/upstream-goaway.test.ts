import assert from "node:assert/strict";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { HostApi } from "../helpers/host-api";
import { fdCount } from "../helpers/proc-stats";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

/**
 * The gateway's channel to the server outlives the server's connections: with an idle timeout
 * of 100 ms the server sends GOAWAY to the gateway between almost any two requests, and none of
 * them may fail for it. The gateway calls over gRPC here, as `ghostd gateway` does: `serve`'s own
 * in-process calls have no connection to lose.
 */
describe("security: the gateway's channel after the server sends GOAWAY", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-sec-goaway-");
  let daemon: DaemonProcess;
  let api: HostApi;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "off", "--grpc-idle-timeout", "100", "--gateway-calls", "grpc"], env: { HOME: home.path } });
    api = new HostApi(daemon.endpoints.host_api.local ?? "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  it("answers the next request once the server has closed the gateway's idle connection", async () => {
    assert.equal((await api.get("/health")).status, 200);
    const connected = fdCount(daemon.endpoints.pid);
    // Both ends of the gateway's connection are this process's: the server closing it gives back two.
    await waitFor("the server to close the gateway's idle connection", () => fdCount(daemon.endpoints.pid) <= connected - 2);
    const reply = await api.get("/health");
    assert.equal(reply.status, 200, reply.text);
  });

  it("answers every one of 60 requests sent about as far apart as the idle timeout", async () => {
    const failures: string[] = [];
    for (let i = 0; i < 60; i++) {
      const reply = await api.get("/health");
      if (reply.status !== 200) failures.push(`${reply.status} ${reply.text}`);
      // The gap is the scenario: around 100 ms, the GOAWAY and the next call cross.
      await new Promise((resolve) => setTimeout(resolve, 85 + (i % 7) * 5));
    }
    assert.deepEqual(failures, []);
  });
});
