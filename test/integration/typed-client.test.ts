import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hostApi, terminalApi, type HostApiClient, type TerminalApiClient } from "../../client";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";

/**
 * The typed client against a real daemon: the right calls compile and are answered, and each
 * `@ts-expect-error` is a wrong call that must not compile (the build fails if it does). The wrong
 * calls run too, and the server refuses them as well: the types only move the error earlier.
 */
describe("typed HTTP client (ghostd/client)", function () {
  this.timeout(60_000);
  let daemon: DaemonProcess;
  let terminals: TerminalApiClient;
  let host: HostApiClient;

  before(async () => {
    daemon = await spawnDaemon();
    terminals = terminalApi({ baseUrl: daemon.endpoints.http ?? "" });
    const socketPath = Object.values(daemon.endpoints.host_api)[0];
    assert.ok(socketPath, "the daemon serves a Host API socket");
    host = hostApi({ socketPath });
  });

  after(async () => {
    await host.close();
    await daemon.stop();
    daemon.cleanup();
  });

  async function newTerminal(): Promise<string> {
    const { data, error } = await terminals.POST("/api/v2/terminals", { body: { location: "window" } });
    assert.equal(error, undefined);
    assert.ok(data);
    assert.equal(data.kind, "normal");
    return data.id;
  }

  describe("Terminal API over TCP", () => {
    it("creates a terminal, types into it, waits for the output and reads a detail", async () => {
      const id = await newTerminal();
      const input = await terminals.POST("/api/v2/terminals/{id}/input", { params: { path: { id } }, body: { text: "echo typed-$((40 + 2))", enter: true } });
      assert.deepEqual(input.data, { success: true });
      const wait = await terminals.POST("/api/v2/terminals/{id}/wait", { params: { path: { id } }, body: { match: "^typed-42$" } });
      assert.equal(wait.data?.matched, true);
      const detail = await terminals.GET("/api/v2/terminals/{id}/details/{type}", { params: { path: { id, type: "visible" } } });
      assert.ok(detail.data, "a detail");
      assert.equal(detail.data.type, "visible");
      assert.match(detail.data.value, /^typed-42$/m);
      const closed = await terminals.DELETE("/api/v2/terminals/{id}", { params: { path: { id } } });
      assert.deepEqual(closed.data, { success: true });
    });

    it("answers a typed error body with the seed's reason", async () => {
      const { data, error, response } = await terminals.GET("/api/v2/terminals/{id}", { params: { path: { id: "550e8400-e29b-41d4-a716-446655440000" } } });
      assert.equal(data, undefined);
      assert.equal(response.status, 404);
      assert.ok(error);
      assert.equal(error.error, "terminal_not_found");
      assert.equal(typeof error.message, "string");
    });

    it("does not compile /input without `text`, and the server refuses it too", async () => {
      const id = await newTerminal();
      // @ts-expect-error `text` is required (field_behavior REQUIRED)
      const { error, response } = await terminals.POST("/api/v2/terminals/{id}/input", { params: { path: { id } }, body: { enter: true } });
      assert.equal(response.status, 400);
      assert.equal(error?.error, "missing_field");
    });

    it("does not compile a detail type outside the seed's five", async () => {
      const id = await newTerminal();
      // @ts-expect-error "visibel" is not one of title, working_directory, contents, selection, visible
      const { error, response } = await terminals.GET("/api/v2/terminals/{id}/details/{type}", { params: { path: { id, type: "visibel" } } });
      assert.equal(response.status, 400);
      assert.equal(typeof error?.error, "string");
    });

    it("does not compile an enum value the seed does not have", async () => {
      // @ts-expect-error "diagonal" is not a TerminalLocation
      const created = await terminals.POST("/api/v2/terminals", { body: { location: "diagonal" } });
      assert.equal(created.error?.error, "invalid_location");
      const id = await newTerminal();
      // @ts-expect-error "wheel" is not a MouseButton
      const button = await terminals.POST("/api/v2/terminals/{id}/mouse/button", { params: { path: { id } }, body: { button: "wheel" } });
      assert.equal(button.response.status, 400);
      const { data } = await terminals.GET("/api/v2/terminals/{id}", { params: { path: { id } } });
      // @ts-expect-error a terminal's kind is "normal" or "quick", never the proto's name
      const protoName: NonNullable<typeof data>["kind"] = "TERMINAL_KIND_NORMAL";
      assert.notEqual(data?.kind, protoName);
      assert.equal(data?.kind, "normal");
    });

    it("reaches the supervisor's routes on the same listener", async () => {
      const { data } = await terminals.GET("/v1/projects", { params: { query: { filter_status: "running" } } });
      assert.deepEqual(data?.projects, []);
    });
  });

  describe("Host API over its Unix socket", () => {
    it("answers health and exec, one connection per request", async () => {
      const health = await host.GET("/health");
      assert.equal(health.data?.status, "ok");
      const runs = await Promise.all(["a", "b", "c"].map((word) => host.POST("/api/v1/exec", { body: { command: "echo", args: [word] } })));
      assert.deepEqual(
        runs.map((r) => r.data?.stdout),
        ["a\n", "b\n", "c\n"],
      );
      assert.ok(runs.every((r) => r.data?.exitCode === 0 && r.response.headers.get("connection") === "close"));
    });

    it("uploads and downloads a file by a path that spans segments, its slashes kept", async () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, "notes file.txt").slice(1);
        const put = await host.PUT("/api/v1/files/{path}", {
          params: { path: { path } },
          body: "typed upload\n",
          bodySerializer: (body: string) => body,
          headers: { "Content-Type": "application/octet-stream" },
        });
        assert.equal(put.response.status, 200, JSON.stringify(put.error));
        assert.equal(readFileSync(`/${path}`, "utf8"), "typed upload\n");
        const got = await host.GET("/api/v1/files/{path}", { params: { path: { path } }, parseAs: "text" });
        assert.equal(got.data, "typed upload\n");
      } finally {
        dir.remove();
      }
    });

    it("does not compile an exec without `command` or with an unknown encoding", async () => {
      // @ts-expect-error `command` is required
      const missing = await host.POST("/api/v1/exec", { body: { args: ["-s"] } });
      assert.equal(missing.response.status, 400);
      assert.equal(typeof missing.error?.code, "string");
      // @ts-expect-error outputEncoding is utf-8, utf-8-lossy or base64
      const encoding = await host.POST("/api/v1/exec", { body: { command: "true", outputEncoding: "utf-16" } });
      assert.equal(encoding.response.status, 400);
    });
  });
});
