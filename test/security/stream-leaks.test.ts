import { credentials, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync } from "node:fs";
import { request, type ClientRequest, type IncomingMessage } from "node:http";
import { join } from "node:path";
import { GuestAgentClient, type ReadFileResponse } from "../../generated/ghostd/agent/v1/agent";
import { EnsureProjectRequest, GetProjectLogsRequest, OpenProjectRequest, StartProjectRequest, StopProjectRequest } from "../../generated/ghostd/supervisor/v1/supervisor";
import { reasonOf } from "../../gateway/transcoder/errors";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { HostApi } from "../helpers/host-api";
import { supervisorClient, unary, writePackage } from "../helpers/supervisor";
import { fdCount, fdsBackTo, MiB, rssBytes } from "../helpers/proc-stats";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

/** A download whose response has begun: the client holds it, reading only when told to. */
interface OpenDownload {
  readonly req: ClientRequest;
  readonly res: IncomingMessage;
}

function openDownload(socketPath: string, path: string): Promise<OpenDownload> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      res.pause();
      resolve({ req, res });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Reads a download until `bytes` have come, then closes the connection mid-body. */
async function interruptedDownload(socketPath: string, path: string, bytes: number): Promise<void> {
  const { req, res } = await openDownload(socketPath, path);
  assert.equal(res.statusCode, 200);
  await new Promise<void>((resolve) => {
    let seen = 0;
    res.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= bytes) {
        req.destroy();
        resolve();
      }
    });
    res.resume();
  });
}

/** A ReadFile stream that has delivered its first message, paused so nothing more is read. */
function openReadFile(client: GuestAgentClient, path: string): Promise<ClientReadableStream<ReadFileResponse>> {
  return new Promise((resolve, reject) => {
    const call = client.readFile({ path });
    call.once("data", () => {
      call.pause();
      resolve(call);
    });
    call.once("error", reject);
  });
}

/** Interrupted downloads and readers that stop reading: the daemon's descriptors and memory stay bounded. */
describe("security: interrupted and unread streams", function () {
  this.timeout(120_000);
  const home = tempDir("ghostd-sec-streams-");
  // Sparse: a gigabyte to stream that costs no disk and is read at memory speed.
  const big = join(home.path, "big.bin");
  let daemon: DaemonProcess;
  let pid: number;
  let hostApi: HostApi;
  let client: GuestAgentClient;

  before(async () => {
    const fd = openSync(big, "w");
    ftruncateSync(fd, 1024 * MiB);
    closeSync(fd);
    daemon = await spawnDaemon({ args: ["--http", "off", "--sandbox", "off"], env: { HOME: home.path } });
    pid = daemon.endpoints.pid;
    hostApi = new HostApi(daemon.endpoints.host_api.local ?? "");
    client = new GuestAgentClient(daemon.endpoints.grpc ?? "", credentials.createInsecure());
    // The gateway's channel and the test's own connection are opened once, before any baseline.
    assert.equal((await hostApi.get("/health")).status, 200);
    (await openReadFile(client, big)).cancel();
  });
  after(async () => {
    client.close();
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  it("closes the file of each of 10 HTTP downloads the client broke off mid-body", async () => {
    const baseline = fdCount(pid);
    for (let i = 0; i < 10; i++) await interruptedDownload(hostApi.socketPath, `/api/v1/files${big}`, 4 * MiB);
    await fdsBackTo(pid, baseline);
  });

  it("closes the file of each of 20 gRPC ReadFile streams the client cancelled mid-stream", async () => {
    const baseline = fdCount(pid);
    for (let i = 0; i < 20; i++) {
      const call = await openReadFile(client, big);
      call.on("error", () => undefined);
      call.resume();
      await new Promise((resolve) => call.once("data", resolve));
      call.cancel();
    }
    await fdsBackTo(pid, baseline);
  });

  /**
   * Holds streams open unread for a while, sampling the daemon's memory; the time is the scenario
   * (a reader that stalls), not a wait for something to happen.
   */
  async function peakGrowthWhileUnread(startRss: number): Promise<number> {
    let peak = rssBytes(pid);
    const until = Date.now() + 1500;
    await waitFor("the unread streams to have sat for 1.5 s", () => {
      peak = Math.max(peak, rssBytes(pid));
      return Date.now() >= until;
    });
    return peak - startRss;
  }

  it("keeps little memory for 10 HTTP downloads nobody reads, and frees their files when the clients leave", async () => {
    const baseline = fdCount(pid);
    const startRss = rssBytes(pid);
    const downloads = await Promise.all(Array.from({ length: 10 }, () => openDownload(hostApi.socketPath, `/api/v1/files${big}`)));
    const growth = await peakGrowthWhileUnread(startRss);
    for (const { req } of downloads) req.destroy();
    await fdsBackTo(pid, baseline);
    const left = rssBytes(pid) - startRss;
    assert.ok(growth < 64 * MiB, `the daemon grew by ${(growth / MiB).toFixed(0)} MiB holding 10 unread downloads`);
    assert.ok(left < 64 * MiB, `the daemon kept ${(left / MiB).toFixed(0)} MiB after the readers left`);
  });

  it("keeps little memory for 10 gRPC ReadFile streams nobody reads, and frees their files when the clients leave", async () => {
    const baseline = fdCount(pid);
    const startRss = rssBytes(pid);
    const calls = await Promise.all(Array.from({ length: 10 }, () => openReadFile(client, big)));
    const growth = await peakGrowthWhileUnread(startRss);
    for (const call of calls) {
      call.on("error", () => undefined);
      call.cancel();
    }
    await fdsBackTo(pid, baseline);
    const left = rssBytes(pid) - startRss;
    assert.ok(growth < 64 * MiB, `the daemon grew by ${(growth / MiB).toFixed(0)} MiB holding 10 unread ReadFile streams`);
    assert.ok(left < 64 * MiB, `the daemon kept ${(left / MiB).toFixed(0)} MiB after the readers left`);
  });

  it("ends a log follow whose client stopped reading with READER_TOO_SLOW, instead of queueing its service's output", async () => {
    const supervisor = supervisorClient(daemon.endpoints.grpc ?? "");
    const projectId = "chatty";
    // Lines of a kilobyte, 64 KiB every 10 ms, and how much so far in a file beside it.
    const chatty = `const fs = require("fs"); const chunk = ("x".repeat(1000) + "\\n").repeat(64); let written = 0;
setInterval(() => { process.stdout.write(chunk); written += chunk.length; fs.writeFileSync("written", String(written)); }, 10);`;
    const pkg = writePackage(join(home.path, "chatty"), {
      "vibe.yaml": "kind: vibe.app/v1\nid: dev.test.chatty\nname: Chatty\nversion: 1.0.0\nruntime: {mode: native}\nservices:\n  - name: chatty\n    command: [node, chatty.js]\n",
      "chatty.js": chatty,
    });
    await unary((cb) => supervisor.ensureProject(EnsureProjectRequest.fromPartial({ projectId, appId: "dev.test.chatty", packagePath: pkg, statePath: join(home.path, "chatty-state") }), cb));
    await unary((cb) => supervisor.openProject(OpenProjectRequest.fromPartial({ projectId }), cb));
    const follow = supervisor.getProjectLogs(GetProjectLogsRequest.fromPartial({ projectId, follow: true, tailLines: 0 }));
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      follow.on("error", resolve);
      follow.on("end", () => resolve(undefined));
    });
    try {
      await unary((cb) => supervisor.startProject(StartProjectRequest.fromPartial({ projectId }), cb));
      await new Promise((resolve) => follow.once("data", resolve));
      follow.pause();
      const startRss = rssBytes(pid);
      // Unread until the service has written far more than every buffer on the way holds (the
      // client's 16 pages, HTTP/2's window, two pages in flight) and the 4 MiB the follower may lag.
      const progress = join(pkg, "written");
      const written = (): number => (existsSync(progress) ? Number(readFileSync(progress, "utf8")) || 0 : 0);
      const before = written();
      let peak = startRss;
      await waitFor("the service to write 32 MiB more", () => {
        peak = Math.max(peak, rssBytes(pid));
        return written() - before >= 32 * MiB;
      }, 60_000);
      const growth = peak - startRss;
      assert.ok(growth < 64 * MiB, `the daemon grew by ${(growth / MiB).toFixed(0)} MiB for one unread log follow`);
      follow.on("data", () => undefined);
      follow.resume();
      const err = await Promise.race([ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the unread follow never ended")), 10_000))]);
      assert.equal(err?.code, status.RESOURCE_EXHAUSTED, err?.details);
      assert.equal(reasonOf(err), "READER_TOO_SLOW");
    } finally {
      follow.cancel();
      await unary((cb) => supervisor.stopProject(StopProjectRequest.fromPartial({ projectId }), cb));
      supervisor.close();
    }
  });
});
