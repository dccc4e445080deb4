import type { JsonObject } from "@bufbuild/protobuf";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceUpdatedNotificationSchema, type ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { Ajv } from "ajv";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { contractDescriptorSet, packageRoot } from "../../cli/package-info";
import { toolTable } from "../../gateway/mcp/tool-table";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { JsonCodec } from "../../gateway/transcoder/json-codec";
import { MCP_SERVICES } from "../../gateway/mcp/mcp-services";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { GHOSTCTL, connectHttp, connectStdio, inspectorCaller, inspectorTools, sdkCaller, str, type CallTool } from "../helpers/mcp";
import { samplesOf } from "../helpers/schema-samples";
import { tempDir } from "../helpers/tmp";
import { file, program, requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

const TODO = join(packageRoot, "examples", "todo");
const BASH_INTEGRATION = join(packageRoot, "server", "terminal", "shell-integration", "ghostd.bash");

/** The tools the contract marks, in its order: what every client must be offered. */
function contractTools(): string[] {
  const contract = loadContract(contractDescriptorSet());
  return toolTable(contract, new JsonCodec(contract, { protoNames: true }), MCP_SERVICES).map((entry) => entry.tool.name);
}

/**
 * What an agent does with ghostd, through any client: a command in a real terminal and its exit
 * status, a file written and read back by exec, a Compose file checked, the todo example run,
 * its logs read, and stopped.
 */
async function agentScenario(call: CallTool, work: string, project: string): Promise<void> {
  const created = await call("terminal_create", { working_directory: work, env: { SHELL: "/bin/bash" } });
  assert.equal(created.isError, false, JSON.stringify(created.json));
  const id = str((created.json.terminal as JsonObject).id);
  // An agent turns on shell integration, as docs/mcp.md says, to learn how commands end.
  await call("terminal_input", { id, text: `source ${BASH_INTEGRATION}`, enter: true });
  await call("terminal_wait", { id, until: "prompt", timeout_ms: 15_000 });
  await call("terminal_input", { id, text: "python3 -c 'print(6*7)'", enter: true });
  const matched = await call("terminal_wait", { id, match: "^42$", timeout_ms: 15_000 });
  assert.deepEqual([matched.isError, matched.json.matched, matched.json.match], [false, true, "42"], JSON.stringify(matched.json));
  const ended = await call("terminal_wait", { id, until: "prompt", timeout_ms: 15_000 });
  assert.deepEqual([ended.json.at_prompt, ended.json.last_exit_code], [true, 0], JSON.stringify(ended.json));
  const screen = await call("terminal_read", { id, type: "visible" });
  assert.match(str(screen.json.value), /^42$/m);

  const path = join(work, `${project}.txt`);
  const written = await call("file_write", { path, body: "forty-two\n" });
  assert.deepEqual([written.isError, written.json.size], [false, 10], JSON.stringify(written.json));
  const cat = await call("exec", { command: "cat", args: [path] });
  assert.deepEqual([cat.json.exit_code, cat.json.stdout], [0, "forty-two\n"]);
  const read = await call("file_read", { path });
  assert.equal((read.json.body as JsonObject).text, "forty-two\n");

  const validated = await call("compose_validate", { compose_content: readFileSync(join(TODO, "compose.yaml"), "utf8") });
  assert.equal(validated.json.valid, true, JSON.stringify(validated.json));
  await runTodo(call, work, project);
  assert.equal((await call("terminal_close", { id })).isError, false);
}

async function runTodo(call: CallTool, work: string, project: string): Promise<void> {
  const ensured = await call("project_ensure", { project_id: project, app_id: "dev.ghostd.todo", package_path: TODO, state_path: join(work, `${project}-state`) });
  assert.equal(ensured.isError, false, JSON.stringify(ensured.json));
  assert.equal((await call("project_open", { project_id: project })).isError, false);
  const started = await call("project_start", { project_id: project });
  assert.equal(started.isError, false, JSON.stringify(started.json));
  const logs = await waitFor(
    "the api's first log line",
    async () => {
      const answer = await call("project_logs", { project_id: project, service_name: "api", tail_lines: 20 });
      const entries = (answer.json.entries ?? []) as JsonObject[];
      return entries.some((e) => str(e.line).startsWith("api: listening on")) && entries;
    },
    30_000,
  );
  assert.ok(logs.every((e) => e.service_name === "api"));
  const stopped = await call("project_stop", { project_id: project });
  assert.equal(stopped.isError, false, JSON.stringify(stopped.json));
  const status = await call("project_status", { project_id: project });
  assert.equal(status.json.status, "stopped", JSON.stringify(status.json));
}

function resourceText(result: ReadResourceResult): string {
  const [first] = result.contents;
  return first && "text" in first ? first.text : "";
}

/** Over stdio, a subscriber hears of each change: a terminal's new output, a project opened. */
async function subscriptions(client: Client, call: CallTool, at: { id: string; screen: string; project: string; status: string }): Promise<void> {
  const updated: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updated.push(notification.params.uri));
  await client.subscribeResource({ uri: at.screen });
  await client.subscribeResource({ uri: at.status });
  await call("terminal_input", { id: at.id, text: "echo changed-$((6*7))", enter: true });
  await waitFor("a notification that the screen changed", () => updated.includes(at.screen));
  assert.match(resourceText(await client.readResource({ uri: at.screen })), /changed-42/);
  await call("project_open", { project_id: at.project });
  await waitFor("a notification that the project's status changed", () => updated.includes(at.status));
  assert.equal((JSON.parse(resourceText(await client.readResource({ uri: at.status }))) as JsonObject).status, "open");
  await client.unsubscribeResource({ uri: at.screen });
  const heard = updated.length;
  await call("terminal_input", { id: at.id, text: "echo unheard", enter: true });
  await waitFor("the unheard output", async () => /^unheard$/m.test(resourceText(await client.readResource({ uri: at.screen }))));
  assert.ok(!updated.slice(heard).includes(at.screen), "no notification after unsubscribing");
}

describe("MCP server: tools derived from the contract", function () {
  this.timeout(180_000);
  let daemon: DaemonProcess;
  let work: { path: string; remove: () => void };
  let mcpUrl: string;

  before(async function () {
    requireTools(this, [program("python3", "python3"), file("/bin/bash", "bash")]);
    work = tempDir("ghostd-mcp-");
    daemon = await spawnDaemon({ args: ["--runtime", "process", "--port-range", "46400-46599", "--log-level", "warn", "--max-body", "1048576"] });
    mcpUrl = `${daemon.endpoints.http ?? ""}/mcp`;
  });

  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    work.remove();
  });

  for (const transport of ["stdio (ghostctl mcp)", "Streamable HTTP (/mcp)"] as const) {
    describe(`the SDK's client over ${transport}`, () => {
      let client: Client;
      before(async () => {
        client = transport.startsWith("stdio") ? await connectStdio(daemon.home) : await connectHttp(mcpUrl);
      });
      after(async () => {
        await client.close();
      });

      it("lists the contract's tools, each with hints and an input schema that takes a good call and refuses bad ones, as the server does", async () => {
        const { tools } = await client.listTools();
        assert.deepEqual(
          tools.map((t) => t.name),
          contractTools(),
        );
        const ajv = new Ajv({ strict: false, allErrors: true });
        // OpenAPI's formats, which the schemas carry as annotations (JSON Schema lets a validator ignore them).
        for (const format of ["int32", "int64", "byte", "date-time"]) ajv.addFormat(format, true);
        for (const tool of tools) {
          assert.equal(typeof tool.annotations?.readOnlyHint, "boolean", tool.name);
          assert.ok(!(tool.annotations?.readOnlyHint === true && tool.annotations.destructiveHint === true), tool.name);
          const validate = ajv.compile(tool.inputSchema);
          const { good, bad } = samplesOf(tool.inputSchema as JsonObject);
          assert.ok(validate(good), `${tool.name}: ${JSON.stringify(good)}: ${ajv.errorsText(validate.errors)}`);
          for (const { why, args } of bad) {
            assert.equal(validate(args), false, `${tool.name}'s schema takes ${why}`);
            const answer = await sdkCaller(client)(tool.name, args);
            assert.equal(answer.isError, true, `${tool.name} took ${why}`);
            assert.match(str(answer.json.error), /^(invalid_json|invalid_argument|missing_field)$/, `${tool.name}, ${why}: ${JSON.stringify(answer.json)}`);
          }
        }
      });

      it("drives the agent's scenario: terminal, exit status, files, exec, compose, the todo project", async () => {
        await agentScenario(sdkCaller(client), work.path, transport.startsWith("stdio") ? "todo-stdio" : "todo-http");
      });

      it("cuts a long output and says so, keeping the end where the tool says so", async () => {
        const answer = await sdkCaller(client)("exec", { command: "seq", args: ["1", "200000"] });
        assert.match(answer.note ?? "", /^\[output cut to fit 24,000 characters: stdout lost [\d,]+ of its 1,288,895 characters at its start\]$/);
        const stdout = str(answer.json.stdout);
        assert.match(stdout, /^\[… [\d,]+ characters cut …\]\d+\n/);
        assert.ok(stdout.endsWith("199999\n200000\n"));
        assert.ok(JSON.stringify(answer.json).length <= 24_000);
      });

      it("offers each terminal's screen and each project's status as resources, read as tools read them", async () => {
        const call = sdkCaller(client);
        const { resourceTemplates } = await client.listResourceTemplates();
        assert.deepEqual(resourceTemplates.map((t) => [t.uriTemplate, t.mimeType]), [["ghostd://terminals/{id}/screen", "text/plain"], ["ghostd://projects/{project_id}/status", "application/json"]]);
        const id = str(((await call("terminal_create", { working_directory: work.path })).json.terminal as JsonObject).id);
        const project = transport.startsWith("stdio") ? "watched-stdio" : "watched-http";
        await call("project_ensure", { project_id: project, app_id: "dev.ghostd.todo", package_path: TODO, state_path: join(work.path, `${project}-state`) });
        const screen = `ghostd://terminals/${id}/screen`;
        const status = `ghostd://projects/${project}/status`;
        const uris = (await client.listResources()).resources.map((r) => r.uri);
        assert.ok(uris.includes(screen) && uris.includes(status), uris.join(" "));
        await call("terminal_input", { id, text: "echo resource-$((6*7))", enter: true });
        await waitFor("the screen resource to show the output", async () => resourceText(await client.readResource({ uri: screen })).includes("resource-42"));
        assert.equal((JSON.parse(resourceText(await client.readResource({ uri: status }))) as JsonObject).status, "registered");
        await assert.rejects(client.readResource({ uri: "ghostd://projects/nope/status" }), /-32002.*no project nope \(NOT_FOUND\)/);
        await assert.rejects(client.readResource({ uri: "ghostd://elsewhere" }), /-32002.*no resource is at ghostd:\/\/elsewhere/);
        if (transport.startsWith("stdio")) await subscriptions(client, call, { id, screen, project, status });
        else await assert.rejects(client.subscribeResource({ uri: screen }), /Method not found/);
        await call("terminal_close", { id });
      });

      it("answers an unknown tool with a protocol error, and a failed call with the HTTP surface's reason", async () => {
        await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /no tool is named "no_such_tool"/);
        const missing = await sdkCaller(client)("terminal_read", { id: "00000000-0000-4000-8000-000000000000", type: "visible" });
        assert.deepEqual([missing.isError, missing.json.error], [true, "terminal_not_found"]);
        const project = await sdkCaller(client)("project_status", { project_id: "nope" });
        assert.deepEqual([project.isError, project.json.error], [true, "NOT_FOUND"]);
      });
    });
  }

  describe("a second, independent client: the MCP Inspector's CLI", () => {
    it("lists the same tools over stdio and Streamable HTTP", async () => {
      const names = contractTools();
      assert.deepEqual((await inspectorTools([mcpUrl, "--transport", "http"])).map((t) => t.name), names);
      assert.deepEqual((await inspectorTools([process.execPath, GHOSTCTL, "--home", daemon.home, "mcp"])).map((t) => t.name), names);
    });

    it("drives the agent's scenario over Streamable HTTP", async () => {
      await agentScenario(inspectorCaller([mcpUrl, "--transport", "http"]), work.path, "todo-inspector");
    });
  });

  it("ghostctl mcp without a daemon: serves its tools, and each call says no daemon runs there and how to start one", async () => {
    const empty = tempDir("ghostd-mcp-nohome-");
    const client = await connectStdio(empty.path);
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name), contractTools());
      const answer = await sdkCaller(client)("terminal_list", {});
      assert.equal(answer.isError, true);
      assert.equal(answer.json.error, "unavailable");
      assert.match(str(answer.json.message), /^ghostd is not running on unix:.*ghostd\.sock; start it with/);
    } finally {
      await client.close();
      empty.remove();
    }
  });

  describe("/mcp behind the listener's guards", () => {
    const post = (headers: Record<string, string>, body = "{}"): Promise<Response> =>
      fetch(mcpUrl, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers }, body });

    it("refuses a foreign Origin and a rebound Host with 403, a GET with 405, bad JSON with 400, an oversized body with 413", async () => {
      assert.equal((await post({ Origin: "http://evil.example" })).status, 403);
      const port = new URL(mcpUrl).port;
      assert.equal((await rawStatus(port, "rebound.example")), 403);
      const get = await fetch(mcpUrl, { headers: { Accept: "text/event-stream" } });
      assert.deepEqual([get.status, get.headers.get("allow")], [405, "POST"]);
      assert.equal((await post({}, "{not json")).status, 400);
      assert.equal((await post({}, JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024) }))).status, 413);
    });
  });
});

/** A POST whose Host names another site, as a DNS-rebound page's would (fetch cannot set Host). */
async function rawStatus(port: string, host: string): Promise<number> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { Host: host, "Content-Type": "application/json", "Content-Length": 2 } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end("{}");
  });
}
