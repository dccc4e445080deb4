import { status as GrpcStatus } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { healthCheck } from "../helpers/grpc";
import { call } from "../helpers/http";
import { grpcCallAs, otherUser, runAs, unixConnectAs, type OtherUser } from "../helpers/other-user";
import { tempDir } from "../helpers/tmp";
import { program, requireTools } from "../helpers/tools";

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** `curl` as `user`: the status and the body. */
async function curlAs(user: OtherUser, url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const out = await runAs(user, "curl", ["-s", "-w", "\n%{http_code}", url]);
  const at = out.lastIndexOf("\n");
  return { status: Number(out.slice(at + 1)), body: JSON.parse(out.slice(0, at)) as Record<string, unknown> };
}

/**
 * Loopback is not a user boundary: any local user can connect to 127.0.0.1. The daemon serves
 * only its own user (and root, unless told otherwise) over TCP, and its Unix sockets are
 * owner-only so the kernel refuses everyone else at connect().
 */
describe("security: who may call", function () {
  this.timeout(60_000);

  describe("a daemon run by root, called by another user", () => {
    const home = tempDir("ghostd-sec-peer-");
    const apiDir = join(home.path, "vm-sockets");
    let daemon: DaemonProcess;
    let user: OtherUser;

    before(async function () {
      user = await otherUser(this);
      // A socket directory that already exists with a loose mode, as one made by hand would.
      mkdirSync(apiDir, { mode: 0o755 });
      chmodSync(apiDir, 0o755);
      daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0", "--grpc-tcp", "127.0.0.1:0", "--host-api-dir", apiDir], env: { HOME: home.path } });
    });
    after(async () => {
      // before() may have skipped (not root) before starting it.
      const started = daemon as DaemonProcess | undefined;
      await started?.stop();
      started?.cleanup();
      home.remove();
    });

    it("answers the HTTP listener with 403 permission_denied, and its own user as before", async function () {
      requireTools(this, [program("curl", "curl")]);
      const refused = await curlAs(user, `${daemon.endpoints.http ?? ""}/api/v2/terminals`);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.error, "permission_denied");
      assert.match(String(refused.body.message), new RegExp(`uid ${user.uid}`));
      assert.equal((await call({ base: daemon.endpoints.http ?? "", path: "/api/v2/terminals" })).status, 200);
    });

    it("answers every gRPC method over TCP with PERMISSION_DENIED: unary, streaming, health and reflection", async () => {
      const target = daemon.endpoints.grpc_tcp ?? "";
      const paths = [
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/ghostd.terminal.v1.Terminals/ListTerminals",
        "/ghostd.supervisor.v1.Supervisor/ListProjects",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      ];
      for (const path of paths) {
        const reply = await grpcCallAs(user, target, path);
        assert.equal(reply.status, GrpcStatus.PERMISSION_DENIED, `${path}: ${JSON.stringify(reply)}`);
        assert.match(reply.message ?? "", new RegExp(`uid ${user.uid}`), path);
      }
      assert.equal(await healthCheck(target, ""), "SERVING", "the daemon's own user is served");
    });

    it("keeps every Unix socket 0600 in a 0700 directory, so another user's connect() is EACCES", async () => {
      const sockets = [join(daemon.home, "run", "ghostd.sock"), daemon.endpoints.host_api.local ?? ""];
      assert.equal(sockets[1], join(apiDir, "local.GhostVM.sock"));
      for (const socket of sockets) {
        assert.equal(modeOf(socket), "600", socket);
        assert.equal(modeOf(join(socket, "..")), "700", `the directory of ${socket}`);
        assert.equal(await unixConnectAs(user, socket), "EACCES", socket);
      }
    });

    it("still refuses another user when a socket's directory is opened up later: the socket itself is owner-only", async () => {
      for (const dir of [daemon.home, join(daemon.home, "run"), home.path, apiDir]) chmodSync(dir, 0o755);
      for (const socket of [join(daemon.home, "run", "ghostd.sock"), daemon.endpoints.host_api.local ?? ""]) {
        assert.equal(await unixConnectAs(user, socket), "EACCES", socket);
      }
      assert.equal((await call({ socketPath: daemon.endpoints.host_api.local ?? "", path: "/health" })).status, 200, "its own user still connects");
    });
  });

  describe("a daemon run by another user, called by root", () => {
    let user: OtherUser;
    before(async function () {
      user = await otherUser(this);
    });

    for (const [setting, served] of [[[], true], [["--root-clients", "refuse"], false]] as const) {
      it(`${served ? "serves" : "refuses"} root ${setting.length === 0 ? "by default" : `with ${setting.join(" ")}`}`, async () => {
        const home = tempDir("ghostd-sec-root-");
        chownSync(home.path, user.uid, user.gid);
        const args = ["--http", "127.0.0.1:0", "--grpc-tcp", "127.0.0.1:0", ...setting];
        const daemon = await spawnDaemon({ user, home: home.path, args, env: { HOME: home.path } });
        try {
          const reply = await call({ base: daemon.endpoints.http ?? "", path: "/api/v2/" });
          assert.equal(reply.status, served ? 200 : 403, reply.text);
          const grpc = await healthCheck(daemon.endpoints.grpc_tcp ?? "", "").catch((err: unknown) => (err as { code?: number }).code);
          assert.equal(grpc, served ? "SERVING" : GrpcStatus.PERMISSION_DENIED);
          if (!served) assert.equal(reply.json().error, "permission_denied");
          const own = await grpcCallAs(user, daemon.endpoints.grpc_tcp ?? "", "/grpc.health.v1.Health/Check");
          assert.equal(own.status, GrpcStatus.OK, `the daemon's own user: ${JSON.stringify(own)}`);
        } finally {
          await daemon.stop();
          home.remove();
        }
      });
    }
  });
});
