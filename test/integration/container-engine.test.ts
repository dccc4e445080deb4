import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:net";
import type Docker from "dockerode";
import { buildImage, removeRun, runToExit, startContainer, testRun } from "../helpers/containers";
import { requireEngine } from "../helpers/engine";
import { ensureBusyboxImage, ensurePythonImage } from "../helpers/images";
import { connectCommand, connectFailedAfter, fetchCommand, hostAddress } from "../helpers/probes";

// What the container runtime's tests stand on, proved alone: when one of these fails, the engine
// setup (scripts/container-engine.sh) or the test images are at fault, not the driver.

describe("container engine: what the container runtime's tests rely on", function () {
  const run = testRun();
  let found: Docker | undefined;
  let python: string;
  const engine = (): Docker => {
    assert.ok(found, "the before hook found no engine");
    return found;
  };

  before(async function () {
    // Cold, the Python image is built with mmdebstrap: minutes on a busy machine.
    this.timeout(20 * 60_000);
    found = await requireEngine(this);
    python = await ensurePythonImage(found);
  });

  after(async function () {
    this.timeout(60_000);
    if (found !== undefined) await removeRun(found, run);
  });

  it("answers _ping through dockerode", async () => {
    assert.equal(String(await engine().ping()), "OK");
  });

  it("runs Python in the test image, with its output in the logs", async function () {
    this.timeout(60_000);
    const exited = await runToExit(engine(), run, { Image: python, Cmd: ["python3", "-c", "print(1+1)"] });
    assert.deepEqual(exited, { exitCode: 0, stdout: "2\n", stderr: "" });
  });

  it("has a busybox image whose shell runs", async function () {
    this.timeout(60_000);
    const busybox = await ensureBusyboxImage(engine());
    const exited = await runToExit(engine(), run, { Image: busybox, Cmd: ["sh", "-c", "echo $((6*7)) >&2; exit 4"] });
    assert.deepEqual(exited, { exitCode: 4, stdout: "", stderr: "42\n" });
  });

  it("lets two containers on one network reach each other by name and by alias", async function () {
    this.timeout(120_000);
    const network = run.name("net");
    await engine().createNetwork({ Name: network, Labels: run.labels });
    const serverName = run.name("server");
    await startContainer(engine(), run, {
      Image: python,
      name: serverName,
      Cmd: ["sh", "-c", "mkdir /srv/www && echo hello from the server > /srv/www/index.txt && cd /srv/www && exec python3 -m http.server 8000"],
      HostConfig: { NetworkMode: network },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ["api"] } } },
    });
    for (const host of ["api", serverName]) {
      const exited = await runToExit(engine(), run, { Image: python, Cmd: fetchCommand(`http://${host}:8000/index.txt`), HostConfig: { NetworkMode: network } });
      assert.deepEqual(exited, { exitCode: 0, stdout: "200 hello from the server\n\n", stderr: "" }, `by ${host}`);
    }
  });

  it("builds an image from a Dockerfile on the local Python image, running its RUN steps", async function () {
    this.timeout(5 * 60_000);
    const context = mkdtempSync(join(tmpdir(), "ghostd-build-"));
    try {
      writeFileSync(join(context, "Dockerfile"), `FROM ${python}\nCOPY greeting.txt /greeting.txt\nRUN python3 -c "print(open('/greeting.txt').read().upper())" > /built.txt\nCMD ["cat", "/built.txt"]\n`);
      writeFileSync(join(context, "greeting.txt"), "built here");
      const tag = `localhost/${run.name("built")}:latest`;
      await buildImage(engine(), run, tag, context, ["Dockerfile", "greeting.txt"]);
      assert.deepEqual(await runToExit(engine(), run, { Image: tag }), { exitCode: 0, stdout: "BUILT HERE\n", stderr: "" });
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });

  describe("an internal network", () => {
    let server: Server | undefined;
    let port = 0;
    let address = "";

    before(async () => {
      // Found here, not as the file loads: a machine without a default route fails this test alone.
      address = hostAddress();
      const listening = createServer((socket) => socket.end());
      server = listening;
      await new Promise<void>((resolve) => listening.listen(0, "0.0.0.0", resolve));
      port = (listening.address() as { port: number }).port;
    });

    after(() => {
      server?.close();
    });

    it("lets a container on a normal network reach this machine (the control)", async function () {
      this.timeout(60_000);
      const network = run.name("open");
      await engine().createNetwork({ Name: network, Labels: run.labels });
      const exited = await runToExit(engine(), run, { Image: python, Cmd: connectCommand(address, port), HostConfig: { NetworkMode: network } });
      assert.equal(exited.exitCode, 0, exited.stdout + exited.stderr);
    });

    it("has no way out: connections to this machine and to the internet fail at once", async function () {
      this.timeout(60_000);
      const network = run.name("internal");
      await engine().createNetwork({ Name: network, Internal: true, Labels: run.labels });
      for (const [host, to] of [[address, port], ["1.1.1.1", 53]] as const) {
        const exited = await runToExit(engine(), run, { Image: python, Cmd: connectCommand(host, to), HostConfig: { NetworkMode: network } });
        assert.equal(exited.exitCode, 3, `${host}:${to}: ${exited.stdout}${exited.stderr}`);
        const seconds = connectFailedAfter(exited.stdout);
        assert.ok(seconds < 4, `${host}:${to} took ${seconds} s to fail: ${exited.stdout}`);
      }
    });
  });
});
