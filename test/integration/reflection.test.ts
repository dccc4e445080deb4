import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { contractDescriptorSet, packageRoot } from "../../cli/package-info";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { ErrorInfo } from "../../generated/google/rpc/error_details";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { tempDir } from "../helpers/tmp";

const BUF = join(packageRoot, "node_modules", ".bin", "buf");

interface BufRun {
  readonly code: number;
  readonly out: string;
}

/**
 * The real `buf curl`, over the daemon's Unix socket, with no schema but what server reflection
 * gives it: each service, method and message must be resolvable from the descriptors alone.
 */
describe("gRPC server reflection, as buf curl uses it", function () {
  this.timeout(120_000);
  const home = tempDir("ghostd-reflect-");
  let daemon: DaemonProcess;
  let socket: string;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--sandbox", "off"], env: { HOME: home.path, SHELL: "/bin/sh", GHOSTD_OPENER: "/bin/true", DISPLAY: "" } });
    socket = (daemon.endpoints.grpc ?? "").replace(/^unix:/, "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
  });

  function buf(args: readonly string[], timeoutSeconds = 10): Promise<BufRun> {
    const all = ["curl", "--unix-socket", socket, "--protocol", "grpc", "--http2-prior-knowledge", "--timeout", `${timeoutSeconds}s`, ...args];
    return new Promise((resolve) => {
      execFile(BUF, all, { timeout: (timeoutSeconds + 20) * 1000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      });
    });
  }

  const contractMethods = (): string[] => {
    const { registry } = loadContract(contractDescriptorSet());
    return [...registry].flatMap((desc) => (desc.kind === "service" ? desc.methods.map((m) => `${desc.typeName}/${m.name}`) : []));
  };
  // health.proto as grpc-health-check ships it has List too; its implementation answers UNIMPLEMENTED.
  const standardMethods = ["grpc.health.v1.Health/Check", "grpc.health.v1.Health/List", "grpc.health.v1.Health/Watch", "grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"];

  it("lists every service, and every method of each", async () => {
    const services = await buf(["--list-services", "http://localhost"]);
    assert.equal(services.code, 0, services.out);
    assert.deepEqual(services.out.trim().split("\n").sort(), [
      "ghostd.agent.v1.GuestAgent",
      "ghostd.supervisor.v1.Supervisor",
      "ghostd.supervisor.v1.SupervisorProgress",
      "ghostd.terminal.v1.Terminals",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    const methods = await buf(["--list-methods", "http://localhost"]);
    assert.equal(methods.code, 0, methods.out);
    assert.deepEqual(methods.out.trim().split("\n").sort(), [...contractMethods(), ...standardMethods].sort());
  });

  it("calls every method of every service from reflected descriptors alone", async () => {
    const unresolved: string[] = [];
    for (const method of [...contractMethods(), ...standardMethods]) {
      const body = method.includes("ServerReflection") ? '{"list_services": ""}' : "{}";
      // Health.Watch never ends on its own: its first answer is enough.
      const run = await buf(["-d", body, `http://localhost/${method}`], method.endsWith("/Watch") ? 2 : 10);
      // Any answer or gRPC error proves the request was encoded and the reply decoded; a schema failure does not.
      const answered = /^\s*[{[]/.test(run.out) && !/failed to find (service|method|message|file|symbol)|could not resolve|not found in schema/i.test(run.out);
      if (!answered) unresolved.push(`${method}: ${run.out.slice(0, 300)}`);
    }
    assert.deepEqual(unresolved, []);
  });

  it("names google.rpc.ErrorInfo in a failed call's details, with the method's reason", async () => {
    const run = await buf(["-d", '{"project_id": "no-such-project"}', "http://localhost/ghostd.supervisor.v1.Supervisor/GetProjectStatus"]);
    assert.notEqual(run.code, 0);
    const error = JSON.parse(run.out) as { code: string; details: { type: string; value: string }[] };
    assert.equal(error.code, "not_found");
    const [detail] = error.details;
    assert.ok(detail, run.out);
    assert.equal(detail.type, "google.rpc.ErrorInfo");
    assert.equal(ErrorInfo.decode(Buffer.from(detail.value, "base64")).reason, "NOT_FOUND");
  });
});
