import assert from "node:assert/strict";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";
import { RefusedUpgrade, unixUrl, WsSession } from "../helpers/websocket";

interface Created {
  id: string;
}

describe("streams over WebSocket: terminal attach, screen watch, exec stream, logs", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-ws-home-");
  let daemon: DaemonProcess;
  let http: string;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const reply = await fetch(`${http}${path}`, { method, headers: body === undefined ? {} : { "Content-Type": "application/json" }, body: body === undefined ? null : JSON.stringify(body) });
    return { status: reply.status, json: (await reply.json()) as T };
  };
  const wsUrl = (path: string): string => `${http.replace(/^http/, "ws")}${path}`;
  const newTerminal = async (): Promise<string> => (await api<Created>("POST", "/api/v2/terminals", {})).json.id;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0"], env: { HOME: home.path, SHELL: "/bin/bash" } });
    http = daemon.endpoints.http ?? "";
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  describe("GET /api/v2/terminals/{id}/attach", () => {
    it("redraws the screen for each client, shares the live terminal between them, and detaching leaves it running", async () => {
      const id = await newTerminal();
      await api("POST", `/api/v2/terminals/${id}/input`, { text: "echo before-$((40+2))", enter: true });
      await api("POST", `/api/v2/terminals/${id}/wait`, { match: "before-42" });
      const first = await WsSession.open(wsUrl(`/api/v2/terminals/${id}/attach`));
      const second = await WsSession.open(wsUrl(`/api/v2/terminals/${id}/attach`));
      for (const client of [first, second]) {
        await client.waitForOutput(/before-42/);
        assert.ok(client.output.startsWith("\x1b[H\x1b[2J"), "the redraw starts from a cleared screen");
      }
      first.send(Buffer.from("echo typed-$((6*7))\r"));
      for (const client of [first, second]) await client.waitForOutput(/typed-42/);
      const mark = second.output.length;
      first.send(JSON.stringify({ type: "resize", cols: 100, rows: 30 }), false);
      first.send(Buffer.from("stty size\r"));
      await second.waitForOutput(/30 100\r\n/, mark);
      second.ws.close();
      await second.waitForClose();
      assert.equal((await api("GET", `/api/v2/terminals/${id}`)).status, 200, "the terminal outlives a detached client");
      first.send(Buffer.from("exit 4\r"));
      const closed = await first.waitForClose();
      assert.deepEqual(first.texts, [{ type: "exit", code: 4 }]);
      assert.equal(closed.code, 1000);
    });

    it("answers an unknown terminal 404 before switching protocols", async () => {
      const refused = await WsSession.open(wsUrl("/api/v2/terminals/00000000-0000-4000-8000-000000000000/attach")).catch((err: unknown) => err);
      assert.ok(refused instanceof RefusedUpgrade);
      assert.equal(refused.status, 404);
      assert.match(refused.body, /"error":"terminal_not_found"/);
    });

    it("refuses cross-site WebSocket hijacking: a foreign Origin, or a rebound Host, gets 403 and no terminal", async () => {
      const id = await newTerminal();
      const foreign: Record<string, string>[] = [{ Origin: "http://evil.example" }, { Origin: "null" }, { Host: "evil.example" }, { "Sec-Fetch-Site": "cross-site" }];
      for (const headers of foreign) {
        const refused = await WsSession.open(wsUrl(`/api/v2/terminals/${id}/attach`), headers).catch((err: unknown) => err);
        assert.ok(refused instanceof RefusedUpgrade, JSON.stringify(headers));
        assert.equal(refused.status, 403, JSON.stringify(headers));
      }
      const own = await WsSession.open(wsUrl(`/api/v2/terminals/${id}/attach`), { Origin: http });
      own.ws.close();
      await own.waitForClose();
    });
  });

  it("streams screen watch as text frames holding what each NDJSON line holds", async () => {
    const id = await newTerminal();
    const watch = await WsSession.open(wsUrl(`/api/v2/terminals/${id}/screen/watch`));
    await api("POST", `/api/v2/terminals/${id}/input`, { text: "echo watched-$((3*3))", enter: true });
    const screen = await waitFor("a screen showing watched-9", () =>
      watch.texts.map((t) => t.result as { visible?: string } | undefined).find((r) => r?.visible?.includes("watched-9")),
    );
    assert.equal((screen as { id?: string }).id, id);
    watch.ws.close();
    await watch.waitForClose();
  });

  it("streams an exec on the Host API from a GET whose query is the request, ending with the exit code and a normal close", async () => {
    const socket = daemon.endpoints.host_api.local ?? "";
    const query = new URLSearchParams([["command", "sh"], ["args", "-c"], ["args", "echo out-1; echo err-1 >&2; exit 2"]]);
    const exec = await WsSession.open(unixUrl(socket, `/api/v1/exec/stream?${query.toString()}`));
    const closed = await exec.waitForClose();
    assert.equal(closed.code, 1000);
    const results = exec.texts.map((t) => t.result as Record<string, unknown>);
    const text = (key: string): string => results.map((r) => (typeof r[key] === "string" ? Buffer.from(r[key], "base64").toString() : "")).join("");
    assert.equal(text("stdout"), "out-1\n");
    assert.equal(text("stderr"), "err-1\n");
    assert.deepEqual(results.at(-1), { exitCode: 2 });
  });

  it("answers logs of an unknown project 404 before switching protocols", async () => {
    const refused = await WsSession.open(wsUrl("/v1/projects/no-such-project/logs?follow=true")).catch((err: unknown) => err);
    assert.ok(refused instanceof RefusedUpgrade);
    assert.equal(refused.status, 404);
  });
});
