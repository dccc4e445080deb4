import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type DescriptorProto, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { contractDescriptorSet, packageRoot, standardDescriptorSet } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";
import { file, program, requireTools } from "../helpers/tools";
import { findOnPath } from "../../server/executables";

// Debian's python3 with its python3-grpcio; a pyenv or venv python3 earlier on PATH may lack it.
const PYTHON = "/usr/bin/python3";

// A client in another language, generated from proto/ by Debian's protoc and grpc_python_plugin,
// reaches the server: the contract is usable as published. .ci/run installs the tools.
describe("Python client built with protoc from proto/, or from server reflection alone", function () {
  this.timeout(60_000);
  let daemon: DaemonProcess | undefined;
  const out = tempDir();

  before(function () {
    requireTools(this, [
      program("protoc", "protobuf-compiler"),
      // protoc's well-known types (descriptor.proto, timestamp.proto), which Debian ships apart.
      file("/usr/include/google/protobuf/timestamp.proto", "libprotobuf-dev"),
      program("grpc_python_plugin", "protobuf-compiler-grpc"),
      { what: `${PYTHON} with grpc`, present: spawnSync(PYTHON, ["-c", "import grpc"], { stdio: "ignore" }).status === 0, provider: "Debian package python3-grpcio" },
    ]);
  });
  after(async () => {
    await daemon?.stop();
    daemon?.cleanup();
    out.remove();
  });

  before(async () => {
    const proto = join(packageRoot, "proto");
    const plugin = findOnPath("grpc_python_plugin", process.env.PATH ?? "") ?? "";
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
    // The reflection service's own schema, the one thing a reflection client knows beforehand;
    // staged outside grpc/ so its Python module does not shadow the grpc package.
    const stage = join(out.path, "stage", "reflection_v1");
    mkdirSync(stage, { recursive: true });
    copyFileSync(join(packageRoot, "node_modules", "@grpc", "reflection", "build", "proto", "grpc", "reflection", "v1", "reflection.proto"), join(stage, "reflection.proto"));
    execFileSync("protoc", [`-I${join(out.path, "stage")}`, `--python_out=${out.path}`, "reflection_v1/reflection.proto"]);
    daemon = await spawnDaemon({ args: ["--http", "off", "--port-range", "46300-46349", "--log-level", "warn"] });
  });

  const python = (args: string[]) => {
    const result = spawnSync(PYTHON, args, { env: { ...process.env, PYTHONPATH: out.path }, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trim().split("\n");
  };

  it("calls GuestAgent.Health and Supervisor.ListProjects over the daemon's Unix socket", () => {
    const script = `
import grpc, sys
from ghostd.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from ghostd.agent.v1 import agent_pb2, agent_pb2_grpc
channel = grpc.insecure_channel(sys.argv[1])
print("health", agent_pb2_grpc.GuestAgentStub(channel).Health(agent_pb2.HealthRequest()).status)
print("projects", len(supervisor_pb2_grpc.SupervisorStub(channel).ListProjects(supervisor_pb2.ListProjectsRequest()).projects))
`;
    assert.deepEqual(python(["-c", script, daemon?.endpoints.grpc ?? ""]), ["health ok", "projects 0"]);
  });

  it("drives a project's whole life: ensure, open, start, HTTP, status, logs, stop, delete", () => {
    const lines = python([join(packageRoot, "test", "fixtures", "python", "supervisor_lifecycle.py"), daemon?.endpoints.grpc ?? "", join(packageRoot, "examples", "todo"), join(out.path, "state")]);
    assert.match(lines[0] ?? "", /^ensure True ghostd-py-[0-9a-f]{8}$/);
    assert.deepEqual(lines.slice(1), [
      "open api,web",
      "start api=SERVICE_STATE_RUNNING,web=SERVICE_STATE_RUNNING",
      "http 201 from python",
      "status PROJECT_STATUS_RUNNING 2 True",
      "logs True",
      "stop SERVICE_STATE_STOPPED,SERVICE_STATE_STOPPED",
      "delete 2",
      "error FAILED_PRECONDITION project py is not running",
    ]);
  });

  it("builds every type from server reflection alone, as grpcio-reflection does, and calls with them", () => {
    const lines = python([join(packageRoot, "test", "fixtures", "python", "reflection_client.py"), daemon?.endpoints.grpc ?? ""]);
    const expected = servedSchema();
    // The lifecycle test above may leave a project registered; a decoded count is what matters here.
    assert.match(lines[5] ?? "", /^projects \d+$/);
    assert.deepEqual(lines.filter((_, i) => i !== 5), [
      `services ${expected.services.join(" ")}`,
      `methods ${expected.methods}`,
      `messages ${expected.messages} misplaced 0`,
      `files ${expected.files.join(" ")}`,
      "health ok",
      "serving 1",
      "error NOT_FOUND google.rpc.ErrorInfo NOT_FOUND ghostd",
    ]);
  });
});

/** What reflection should lead a client to, counted from the descriptor sets the daemon serves. */
function servedSchema(): { services: string[]; methods: number; messages: number; files: string[] } {
  const files = new Map([contractDescriptorSet(), standardDescriptorSet()].flatMap((set) => fromBinary(FileDescriptorSetSchema, set).file).map((f) => [f.name, f]));
  const withServices = [...files.values()].filter((f) => f.service.length > 0);
  const reached = new Set<string>();
  const reach = (file: FileDescriptorProto | undefined): void => {
    if (!file || reached.has(file.name)) return;
    reached.add(file.name);
    file.dependency.forEach((name) => reach(files.get(name)));
  };
  withServices.forEach(reach);
  const count = (messages: readonly DescriptorProto[]): number => messages.reduce((sum, m) => sum + 1 + count(m.nestedType), 0);
  return {
    services: withServices.flatMap((f) => f.service.map((s) => `${f.package}.${s.name}`)).sort(),
    methods: withServices.reduce((sum, f) => sum + f.service.reduce((n, s) => n + s.method.length, 0), 0),
    messages: [...reached].reduce((sum, name) => sum + count(files.get(name)?.messageType ?? []), 0),
    files: [...reached].sort(),
  };
}
