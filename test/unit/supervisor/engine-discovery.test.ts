import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { findEngine, NoEngine } from "../../../server/supervisor/runtime/container/engine";
import { tempDir } from "../../helpers/tmp";

function listening(server: Server, path: string): Promise<void> {
  return new Promise((resolve) => server.listen(path, resolve));
}

describe("finding a container engine", () => {
  let dir: ReturnType<typeof tempDir>;
  const servers: Server[] = [];
  /** Connections a silent server holds: dropped at the end, or closing it would wait for them. */
  const held: Socket[] = [];

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(async () => {
    for (const connection of held.splice(0)) connection.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    dir.remove();
  });

  it("takes an engine that answers its ping at once and its version slowly, as a busy Podman does", async () => {
    const socket = join(dir.path, "slow-version.sock");
    const server = createHttpServer((req, res) => {
      if (req.url?.endsWith("/_ping")) res.end("OK");
      else if (req.url?.endsWith("/version")) setTimeout(() => res.setHeader("content-type", "application/json").end(JSON.stringify({ Version: "4.3.1", Components: [{ Name: "Podman Engine" }] })), 600);
      else res.writeHead(404).end();
    });
    servers.push(server);
    await listening(server, socket);
    const engine = await findEngine([`unix://${socket}`], 200);
    assert.equal(engine.version, "Podman Engine 4.3.1");
  });

  it("passes over a socket that accepts and never answers, saying so", async () => {
    const socket = join(dir.path, "silent.sock");
    const server = createServer((connection) => held.push(connection));
    servers.push(server);
    await listening(server, socket);
    await assert.rejects(findEngine([`unix://${socket}`, `unix://${join(dir.path, "absent.sock")}`], 200), (err: unknown) => {
      assert.ok(err instanceof NoEngine);
      assert.match(err.message, /silent\.sock: (?!no such socket)/);
      assert.match(err.message, /absent\.sock: no such socket/);
      return true;
    });
  });
});
