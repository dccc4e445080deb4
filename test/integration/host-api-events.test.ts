import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { agentDaemon } from "../helpers/agent-daemon";
import { waitFor } from "../helpers/wait";
import { unixUrl, WsSession } from "../helpers/websocket";

type Event = Record<string, unknown>;

describe("Host API event stream and URL queue", function () {
  this.timeout(60_000);
  const agent = agentDaemon("ghostd-events-home-");
  let stream: WsSession;
  const events = (): Event[] => stream.texts.map((t) => t.result as Event);
  /** The first event after `from` that `pick` recognises, within the one second. */
  const within = <T>(what: string, from: number, pick: (event: Event) => T | undefined): Promise<T> =>
    waitFor(what, () => events().slice(from).map(pick).find((v) => v !== undefined), 1000);

  before(async () => {
    stream = await WsSession.open(unixUrl(agent.api.socketPath, "/api/v1/event-stream"));
  });
  after(async () => {
    stream.ws.close();
    await stream.waitForClose();
  });

  it("tells of a queued file within a second", async () => {
    const file = join(agent.home, "report.pdf");
    writeFileSync(file, "%PDF");
    const from = events().length;
    assert.equal((await agent.api.send("POST", "/api/v1/files", { paths: [file] })).status, 200);
    const files = await within("a files event", from, (e) => (e.files as { files: string[] } | undefined)?.files);
    assert.deepEqual(files, [file]);
  });

  it("tells of a URL the guest asked to open within a second, and hands the queue over once", async () => {
    const from = events().length;
    assert.deepEqual((await agent.api.send("POST", "/api/v1/urls", { url: "https://example.com/docs?q=1" })).json(), { urls: ["https://example.com/docs?q=1"] });
    assert.equal(await within("a url event", from, (e) => e.url as string | undefined), "https://example.com/docs?q=1");
    await agent.api.send("POST", "/api/v1/urls", { url: "mailto:team@example.com" });
    assert.deepEqual((await agent.api.get("/api/v1/urls")).json(), { urls: ["https://example.com/docs?q=1", "mailto:team@example.com"] });
    assert.deepEqual((await agent.api.get("/api/v1/urls")).json(), { urls: [] }, "reading emptied the queue");
    await agent.api.send("POST", "/api/v1/urls", { url: "https://example.com/later" });
    assert.deepEqual((await agent.api.send("DELETE", "/api/v1/urls")).json(), { ok: true });
    assert.deepEqual((await agent.api.get("/api/v1/urls")).json(), { urls: [] });
    for (const url of ["file:///etc/passwd", "javascript:alert(1)", "not a url"]) {
      assert.equal((await agent.api.send("POST", "/api/v1/urls", { url })).status, 400, url);
    }
  });

  it("tells of a port that starts and stops listening within a second", async () => {
    const from = events().length;
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const opened = await within("the port opening", from, (e) => ((e.ports as { opened: number[] } | undefined)?.opened.includes(port) ? e.ports : undefined));
    assert.ok((opened as { ports: number[] }).ports.includes(port));
    const closing = events().length;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await within("the port closing", closing, (e) => ((e.ports as { closed: number[] } | undefined)?.closed.includes(port) ? true : undefined));
  });

  it("answers the agent's recent log lines, the last N with ?lines=", async () => {
    const { lines } = (await agent.api.get("/api/v1/logs")).json<{ lines: string[] }>();
    const parsed = lines.map((line) => JSON.parse(line) as { msg?: string; pid?: number });
    assert.ok(parsed.some((entry) => entry.msg?.startsWith("ghostd listening") && entry.pid === agent.daemon.endpoints.pid), "the daemon's start-up line");
    const last = (await agent.api.get("/api/v1/logs?lines=1")).json<{ lines: string[] }>().lines;
    assert.equal(last.length, 1);
    assert.equal(last[0], (await agent.api.get("/api/v1/logs")).json<{ lines: string[] }>().lines.at(-1));
  });

  it("streams the same events as NDJSON lines", async () => {
    // Other events (a port anywhere on this machine) may come first: the URL's line is looked for.
    const line = new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: agent.api.socketPath, path: "/api/v1/event-stream" }, (res) => {
        assert.equal(res.headers["content-type"], "application/x-ndjson");
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          const found = text.split("\n").find((l) => l.includes("example.com/ndjson"));
          if (found) {
            resolve(found);
            req.destroy();
          }
        });
        void agent.api.send("POST", "/api/v1/urls", { url: "https://example.com/ndjson" });
      });
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(JSON.parse(await line), { result: { url: "https://example.com/ndjson" } });
  });
});
