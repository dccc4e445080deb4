import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";

// Debian's python3 with its python3-grpcio; a pyenv or venv python3 earlier on PATH may lack it.
const PYTHON = "/usr/bin/python3";
const onPath = (command: string): boolean => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

// A client in another language, generated from proto/ by Debian's protoc and grpc_python_plugin,
// reaches the server: the contract is usable as published. .ci/run installs the tools.
describe("Python client built with protoc from proto/", function () {
  this.timeout(60_000);
  let daemon: DaemonProcess | undefined;
  const out = tempDir();

  before(function () {
    const missing = [
      onPath("protoc") ? "" : "protoc (protobuf-compiler)",
      onPath("grpc_python_plugin") ? "" : "grpc_python_plugin (protobuf-compiler-grpc)",
      spawnSync(PYTHON, ["-c", "import grpc"], { stdio: "ignore" }).status === 0 ? "" : "python3-grpcio",
    ].filter(Boolean);
    if (missing.length > 0) {
      console.log(`      skipped: this machine lacks ${missing.join(", ")}; .ci/run installs them`);
      this.skip();
    }
  });
  after(async () => {
    await daemon?.stop();
    daemon?.cleanup();
    out.remove();
  });

  it("calls Supervisor.ListProjects and Health over the daemon's Unix socket", async () => {
    const proto = join(packageRoot, "proto");
    const plugin = execFileSync("sh", ["-c", "command -v grpc_python_plugin"]).toString().trim();
    execFileSync("protoc", [
      `-I${proto}`,
      `--python_out=${out.path}`,
      `--grpc_python_out=${out.path}`,
      `--plugin=protoc-gen-grpc_python=${plugin}`,
      "ghostd/supervisor/v1/supervisor.proto",
      "ghostd/agent/v1/agent.proto",
      "ghostd/options/v1/options.proto",
      "google/api/annotations.proto",
      "google/api/http.proto",
      "google/api/httpbody.proto",
      "google/api/field_behavior.proto",
    ]);
    daemon = await spawnDaemon({ args: ["--http", "off"] });
    const script = `
import grpc, sys
from ghostd.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from ghostd.agent.v1 import agent_pb2, agent_pb2_grpc
channel = grpc.insecure_channel(sys.argv[1])
print("health", agent_pb2_grpc.GuestAgentStub(channel).Health(agent_pb2.HealthRequest()).status)
try:
    supervisor_pb2_grpc.SupervisorStub(channel).ListProjects(supervisor_pb2.ListProjectsRequest())
    print("list ok")
except grpc.RpcError as e:
    print("list", e.code().name, e.details())
`;
    const result = spawnSync(PYTHON, ["-c", script, daemon.endpoints.grpc ?? ""], { env: { ...process.env, PYTHONPATH: out.path }, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines[0], "health ok");
    assert.ok(lines[1] === "list ok" || /^list UNIMPLEMENTED .*Supervisor\/ListProjects/.test(lines[1] ?? ""), lines[1]);
  });
});
