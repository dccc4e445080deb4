import assert from "node:assert/strict";
import { contractDescriptorSet } from "../../cli/package-info";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { JsonCodec } from "../../gateway/transcoder/json-codec";
import { displayPath } from "../../gateway/transcoder/path-template";
import { buildRoutes } from "../../gateway/transcoder/routes";

// The contract against the three seeds: names, fields, paths and JSON spellings they fix.
describe("contract", () => {
  const contract = loadContract(contractDescriptorSet());
  const message = (name: string) => {
    const desc = contract.registry.getMessage(name);
    if (!desc) throw new Error(`no message ${name}`);
    return desc;
  };
  const fieldNames = (name: string) => message(name).fields.map((f) => f.name);
  const endpoints = (service: string) =>
    buildRoutes(contract, [service]).map((r) => `${r.httpMethod} ${displayPath(r.template).replace(/\{[^}]+\}/g, "{}")}`);

  describe("Supervisor (seed 002)", () => {
    const supervisor = contract.service("ghostd.supervisor.v1.Supervisor");
    const pkg = "ghostd.supervisor.v1";

    it("has the 15 methods under exactly the seed's names, in its order", () => {
      assert.deepEqual(supervisor.methods.map((m) => m.name), [
        "EnsureProject", "OpenProject", "StartProject", "StopProject", "DeleteProjectRuntime", "ListProjects", "GetProjectStatus",
        "GetProjectLogs", "SaveSnapshot", "RestoreSnapshot", "ListSnapshots", "DuplicateProject", "ImportPackage", "ValidateCompose", "ResolvePorts",
      ]);
      for (const method of supervisor.methods) {
        assert.equal(method.input.name, `${method.name}Request`);
        assert.equal(method.output.name, `${method.name}Response`);
        assert.equal(method.methodKind, method.name === "GetProjectLogs" ? "server_streaming" : "unary", method.name);
      }
    });

    it("carries the seed's request and response fields under their names", () => {
      const expected: Record<string, string[]> = {
        EnsureProjectRequest: ["project_id", "app_id", "package_path", "state_path", "manifest"],
        EnsureProjectResponse: ["project_id", "namespace", "created"],
        OpenProjectResponse: ["project_id", "services", "images_pulled", "warnings"],
        StartProjectRequest: ["project_id", "secrets"],
        StartProjectResponse: ["project_id", "services", "ports"],
        StopProjectRequest: ["project_id", "timeout_seconds"],
        DeleteProjectRuntimeRequest: ["project_id", "force"],
        DeleteProjectRuntimeResponse: ["project_id", "resources_removed"],
        ListProjectsRequest: ["filter_status"],
        ProjectSummary: ["project_id", "app_id", "name", "status", "service_count", "port_count"],
        GetProjectStatusResponse: ["project_id", "app_id", "name", "version", "status", "services", "ports", "state_size_bytes", "snapshot_count", "autosave_enabled"],
        GetProjectLogsRequest: ["project_id", "service_name", "follow", "tail_lines"],
        LogEntry: ["timestamp", "service_name", "stream", "line"],
        SaveSnapshotRequest: ["project_id", "reason", "labels"],
        SaveSnapshotResponse: ["snapshot_id", "timestamp", "state_digest", "size_bytes", "added_bytes"],
        RestoreSnapshotRequest: ["project_id", "snapshot_id", "create_safety_snapshot"],
        RestoreSnapshotResponse: ["project_id", "restored_snapshot_id", "safety_snapshot_id", "services"],
        Snapshot: ["snapshot_id", "timestamp", "parent_snapshot_id", "reason", "app_version", "state_digest", "size_bytes", "labels", "added_bytes"],
        DuplicateProjectRequest: ["source_project_id", "new_project_id", "snapshot_id", "state_path"],
        DuplicateProjectResponse: ["new_project_id", "namespace", "state_path"],
        ImportPackageRequest: ["package_data_path", "verify_signature", "replace"],
        ImportPackageResponse: ["app_id", "name", "version", "trust_status", "package_path", "capabilities", "digest"],
        ValidateComposeRequest: ["compose_content"],
        ValidateComposeResponse: ["valid", "services", "supported_fields", "transformed_fields", "rejected_fields", "warnings"],
        ResolvePortsRequest: ["project_id", "refresh"],
        ServiceStatus: ["name", "status", "container_id", "started_at", "restart_count"],
        PortMapping: ["service_name", "container_port", "host_port", "protocol"],
      };
      for (const [name, fields] of Object.entries(expected)) assert.deepEqual(fieldNames(`${pkg}.${name}`), fields, name);
    });

    it("can tell the seed's defaults from an explicit zero or false", () => {
      for (const [name, field] of [
        ["StopProjectRequest", "timeout_seconds"],
        ["GetProjectLogsRequest", "tail_lines"],
        ["RestoreSnapshotRequest", "create_safety_snapshot"],
        ["ListProjectsRequest", "filter_status"],
      ]) {
        const desc = message(`${pkg}.${name}`).fields.find((f) => f.name === field);
        assert.equal(desc?.proto.proto3Optional, true, `${name}.${field}`);
      }
    });

    it("routes every method under /v1/projects, /v1/packages or /v1/compose", () => {
      const routes = buildRoutes(contract, ["ghostd.supervisor.v1.Supervisor"]);
      assert.deepEqual(new Set(routes.map((r) => r.method.name)).size, 15);
      for (const route of routes) assert.match(route.template.source, /^\/v1\/(projects|packages|compose)/);
    });
  });

  describe("GuestAgent (seed 000)", () => {
    it("routes every Host API endpoint at the seed's method and path", () => {
      const routes = endpoints("ghostd.agent.v1.GuestAgent");
      for (const endpoint of [
        "GET /health", "GET /api/v1/clipboard", "POST /api/v1/clipboard", "GET /api/v1/files", "DELETE /api/v1/files", "POST /api/v1/open",
        "POST /api/v1/exec", "GET /api/v1/fs", "GET /api/v1/apps", "POST /api/v1/apps/launch", "POST /api/v1/apps/activate",
        "POST /api/v1/apps/quit", "GET /api/v1/apps/frontmost",
      ]) {
        assert.ok(routes.includes(endpoint), endpoint);
      }
    });

    it("streams exec output, then the exit code", () => {
      const method = contract.service("ghostd.agent.v1.GuestAgent").methods.find((m) => m.name === "ExecStream");
      assert.equal(method?.methodKind, "server_streaming");
      assert.deepEqual(method.output.oneofs[0]?.fields.map((f) => f.name), ["stdout", "stderr", "exit_code"]);
    });

    it("writes GhostVM's camelCase JSON names", () => {
      const json = (name: string) => message(`ghostd.agent.v1.${name}`).fields.map((f) => f.jsonName);
      assert.deepEqual(json("ExecResponse").slice(0, 3), ["exitCode", "stdout", "stderr"]);
      assert.deepEqual(json("DirectoryEntry"), ["name", "isDir", "size", "modified"]);
      assert.deepEqual(json("App"), ["name", "bundleId", "pid", "isActive"]);
      assert.deepEqual(json("GetFrontmostAppResponse"), ["bundleId"]);
    });

    it("carries the clipboard as google.api.HttpBody both ways", () => {
      const routes = buildRoutes(contract, ["ghostd.agent.v1.GuestAgent"]);
      const get = routes.find((r) => r.method.name === "GetClipboard");
      const set = routes.find((r) => r.method.name === "SetClipboard");
      assert.equal(get?.responseBody?.fieldKind === "message" && get.responseBody.message.typeName, "google.api.HttpBody");
      assert.equal(set?.bodyField?.fieldKind === "message" && set.bodyField.message.typeName, "google.api.HttpBody");
    });
  });

  describe("Terminals (seed 001)", () => {
    it("routes the 18 v2 endpoints and the v1 surfaces paths of the migration table", () => {
      const routes = endpoints("ghostd.terminal.v1.Terminals");
      const v2 = routes.filter((r) => r.includes("/api/v2/"));
      // The seed's 18, then what scripting users ask for beyond it: wait, watch and attach.
      assert.equal(v2.length, 21);
      assert.ok(v2.includes("POST /api/v2/terminals/{}/wait"));
      assert.ok(v2.includes("GET /api/v2/terminals/{}/screen/watch"));
      assert.ok(v2.includes("GET /api/v2/terminals/{}/attach"));
      for (const endpoint of [
        "GET /api/v1/surfaces", "GET /api/v1/surfaces/focused", "GET /api/v1/surfaces/{}", "GET /api/v1/surfaces/{}/screen",
        "GET /api/v1/surfaces/{}/commands", "POST /api/v1/surfaces/{}/actions",
      ]) {
        assert.ok(routes.includes(endpoint), endpoint);
      }
    });

    it("writes the terminal object with the seed's snake_case fields", () => {
      assert.deepEqual(fieldNames("ghostd.terminal.v1.Terminal").slice(0, 9), ["id", "title", "working_directory", "kind", "focused", "columns", "rows", "cell_width", "cell_height"]);
      assert.deepEqual(fieldNames("ghostd.terminal.v1.StatusBar"), ["left", "center", "right", "visible"]);
      assert.deepEqual(fieldNames("ghostd.terminal.v1.Command"), ["action_key", "action", "title", "description"]);
      assert.deepEqual(fieldNames("ghostd.terminal.v1.GetScreenResponse"), ["id", "contents"]);
      assert.deepEqual(fieldNames("ghostd.terminal.v1.GetTerminalDetailsResponse"), ["type", "value"]);
    });
  });

  it("spells the seeds' vocabularies in lowercase JSON", () => {
    const codec = new JsonCodec(contract, { protoNames: true });
    const spellings = (name: string) => {
      const desc = contract.registry.getEnum(name);
      if (!desc) throw new Error(name);
      return codec.enumSpellings(desc).slice(1);
    };
    assert.deepEqual(spellings("ghostd.supervisor.v1.ServiceState"), ["stopped", "starting", "running", "stopping", "failed"]);
    assert.deepEqual(spellings("ghostd.supervisor.v1.Protocol"), ["tcp", "udp"]);
    assert.deepEqual(spellings("ghostd.supervisor.v1.SnapshotReason"), ["manual", "autosave", "before-upgrade", "before-restore"]);
    assert.deepEqual(spellings("ghostd.supervisor.v1.TrustStatus"), ["signed_trusted", "signed_untrusted", "unsigned", "tampered"]);
    assert.deepEqual(spellings("ghostd.supervisor.v1.LogStream"), ["stdout", "stderr"]);
    assert.deepEqual(spellings("ghostd.terminal.v1.TerminalKind"), ["normal", "quick"]);
  });

  it("annotates every method with an HTTP rule", () => {
    for (const name of ["ghostd.supervisor.v1.Supervisor", "ghostd.agent.v1.GuestAgent", "ghostd.terminal.v1.Terminals"]) {
      for (const method of contract.service(name).methods) assert.ok(contract.httpRule(method), `${name}.${method.name}`);
    }
  });
});
