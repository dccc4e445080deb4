import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import type Docker from "dockerode";
import { removeRun, runToExit, startContainer, testRun } from "../helpers/containers";
import { requireEngine } from "../helpers/engine";
import { ensureBusyboxImage, ensurePythonImage } from "../helpers/images";

// What the container runtime's tests stand on, proved alone: when one of these fails, the engine
// setup (scripts/container-engine.sh) or the test images are at fault, not the driver.

/** Connects to argv[1]:argv[2] once; prints how it went and how long it took; exit 3 when it could not. */
const CONNECT = `
import socket, sys, time
start = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    print("connected in %.1f s" % (time.monotonic() - start))
except OSError as e:
    print("failed in %.1f s: %s" % (time.monotonic() - start, e))
    sys.exit(3)
`;

/** Fetches argv[1] until it answers (the server starts beside it), up to 30 s; prints the status and body. */
const FETCH = `
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as reply:
            print(reply.status, reply.read().decode())
            break
    except OSError as e:
        if time.monotonic() > deadline:
            print("gave up:", e)
            sys.exit(3)
        time.sleep(0.2)
`;

/** This machine's address on its default route: one that containers on a bridge can route to. */
function hostAddress(): string {
  const defaultRoute = readFileSync("/proc/net/route", "utf8")
    .split("\n")
    .map((line) => line.split("\t"))
    .find((fields) => fields[1] === "00000000");
  const address = defaultRoute && networkInterfaces()[defaultRoute[0] ?? ""]?.find((a) => a.family === "IPv4");
  assert.ok(address, "this machine has no IPv4 default route for containers to reach it by");
  return address.address;
}

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
      const exited = await runToExit(engine(), run, { Image: python, Cmd: ["python3", "-c", FETCH, `http://${host}:8000/index.txt`], HostConfig: { NetworkMode: network } });
      assert.deepEqual(exited, { exitCode: 0, stdout: "200 hello from the server\n\n", stderr: "" }, `by ${host}`);
    }
  });

  describe("an internal network", () => {
    let server: Server;
    let port = 0;
    const address = hostAddress();

    before(async () => {
      server = createServer((socket) => socket.end());
      await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
      port = (server.address() as { port: number }).port;
    });

    after(() => {
      server.close();
    });

    it("lets a container on a normal network reach this machine (the control)", async function () {
      this.timeout(60_000);
      const network = run.name("open");
      await engine().createNetwork({ Name: network, Labels: run.labels });
      const exited = await runToExit(engine(), run, { Image: python, Cmd: ["python3", "-c", CONNECT, address, String(port)], HostConfig: { NetworkMode: network } });
      assert.equal(exited.exitCode, 0, exited.stdout + exited.stderr);
    });

    it("has no way out: connections to this machine and to the internet fail at once", async function () {
      this.timeout(60_000);
      const network = run.name("internal");
      await engine().createNetwork({ Name: network, Internal: true, Labels: run.labels });
      for (const [host, to] of [[address, String(port)], ["1.1.1.1", "53"]] as const) {
        const exited = await runToExit(engine(), run, { Image: python, Cmd: ["python3", "-c", CONNECT, host, to], HostConfig: { NetworkMode: network } });
        assert.equal(exited.exitCode, 3, `${host}:${to}: ${exited.stdout}${exited.stderr}`);
        const seconds = Number(/failed in ([\d.]+) s/.exec(exited.stdout)?.[1]);
        assert.ok(seconds < 4, `${host}:${to} took ${seconds} s to fail: ${exited.stdout}`);
      }
    });
  });
});
