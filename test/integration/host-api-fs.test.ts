import assert from "node:assert/strict";
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentDaemon } from "../helpers/agent-daemon";
import { waitFor } from "../helpers/wait";
import { unixUrl, WsSession } from "../helpers/websocket";

interface Entry {
  name: string;
  path: string;
  type: string;
  size: number;
  mode: number;
  permissions: string;
  symlinkTarget?: string;
}

interface WatchEvent {
  type: string;
  name: string;
}

describe("Host API file-system inspection: stat, list to a depth, watch", function () {
  this.timeout(60_000);
  const agent = agentDaemon("ghostd-fs-home-");

  it("stats a file, a directory and a symlink, and answers a missing path 404", async () => {
    mkdirSync(join(agent.home, "stat"), { recursive: true });
    writeFileSync(join(agent.home, "stat", "notes.txt"), "twelve bytes", { mode: 0o640 });
    symlinkSync("notes.txt", join(agent.home, "stat", "link"));
    const stat = async (path: string): Promise<Entry> => (await agent.api.get(`/api/v1/fs/stat?path=${encodeURIComponent(path)}`)).json<{ entry: Entry }>().entry;
    const file = await stat("~/stat/notes.txt");
    assert.deepEqual([file.type, file.size, file.mode, file.permissions, file.path], ["file", 12, 0o640, "-rw-r-----", join(agent.home, "stat", "notes.txt")]);
    assert.equal((await stat("stat")).type, "directory");
    const link = await stat("~/stat/link");
    assert.deepEqual([link.type, link.symlinkTarget], ["symlink", "notes.txt"]);
    const missing = await agent.api.get("/api/v1/fs/stat?path=~/nothing-here");
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ code: string }>().code, "path_not_found");
  });

  it("downloads a file with its name and permissions in GhostVM's headers", async () => {
    mkdirSync(join(agent.home, "dl"), { recursive: true });
    writeFileSync(join(agent.home, "dl", "run me.sh"), "#!/bin/sh\necho hi\n", { mode: 0o750 });
    const reply = await agent.api.get(`/api/v1/files/~/dl/${encodeURIComponent("run me.sh")}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, "#!/bin/sh\necho hi\n");
    assert.equal(reply.headers["x-permissions"], "0750");
    assert.equal(reply.headers["content-disposition"], `attachment; filename="run me.sh"; filename*=UTF-8''run%20me.sh`);
    assert.equal((await agent.api.get("/api/v1/files/~/dl/missing.txt")).status, 404);
  });

  it("lists to the depth asked", async () => {
    mkdirSync(join(agent.home, "tree", "a", "b"), { recursive: true });
    writeFileSync(join(agent.home, "tree", "top.txt"), "");
    writeFileSync(join(agent.home, "tree", "a", "b", "deep.txt"), "");
    const names = async (depth: number): Promise<string[]> =>
      (await agent.api.get(`/api/v1/fs/entries?path=~/tree&depth=${depth}`)).json<{ entries: Entry[] }>().entries.map((e) => e.path.slice(join(agent.home, "tree").length + 1));
    assert.deepEqual(await names(1), ["a", "top.txt"]);
    assert.deepEqual(await names(2), ["a", "a/b", "top.txt"]);
    assert.deepEqual(await names(3), ["a", "a/b", "a/b/deep.txt", "top.txt"]);
    assert.equal((await agent.api.get("/api/v1/fs/entries?path=~/tree&depth=0")).status, 400);
  });

  it("streams a directory's create, write, rename, chmod and remove events in order over a WebSocket", async () => {
    const dir = join(agent.home, "watched");
    mkdirSync(dir);
    const watch = await WsSession.open(unixUrl(agent.api.socketPath, `/api/v1/fs/watch?path=${encodeURIComponent(dir)}`));
    const seen = (): WatchEvent[] => watch.texts.map((t) => (t.result as { event: WatchEvent }).event);
    const step = async (action: () => void, expected: WatchEvent[]): Promise<void> => {
      const from = seen().length;
      action();
      await waitFor(`events ${JSON.stringify(expected)} (so far ${JSON.stringify(seen().slice(from))})`, () => seen().length >= from + expected.length);
      assert.deepEqual(
        seen().slice(from).map((e) => ({ type: e.type, name: e.name })),
        expected,
      );
    };
    await step(() => writeFileSync(join(dir, "a.txt"), "content"), [{ type: "create", name: "a.txt" }, { type: "write", name: "a.txt" }]);
    await step(() => renameSync(join(dir, "a.txt"), join(dir, "b.txt")), [{ type: "rename", name: "a.txt" }, { type: "create", name: "b.txt" }]);
    await step(() => chmodSync(join(dir, "b.txt"), 0o600), [{ type: "chmod", name: "b.txt" }]);
    await step(() => rmSync(join(dir, "b.txt")), [{ type: "remove", name: "b.txt" }]);
    watch.ws.close();
    await watch.waitForClose();
  });

  it("keeps a polled watcher's events until asked, and forgets it once removed", async () => {
    const dir = join(agent.home, "polled");
    mkdirSync(dir);
    const created = await agent.api.send("POST", "/api/v1/fs/watchers", { path: dir });
    const { watcherId } = created.json<{ watcherId: string }>();
    writeFileSync(join(dir, "new.txt"), "");
    const events = await waitFor("the polled create", async () => {
      const polled = (await agent.api.get(`/api/v1/fs/watchers/${watcherId}/events`)).json<{ events: WatchEvent[] }>().events;
      return polled.length > 0 ? polled : undefined;
    });
    assert.deepEqual(events.map((e) => [e.type, e.name]), [["create", "new.txt"]]);
    assert.deepEqual((await agent.api.send("DELETE", `/api/v1/fs/watchers/${watcherId}`)).json(), { ok: true });
    const gone = await agent.api.get(`/api/v1/fs/watchers/${watcherId}/events`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json<{ code: string }>().code, "watcher_not_found");
  });
});
