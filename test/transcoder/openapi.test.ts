import assert from "node:assert/strict";
import type { JsonObject } from "@bufbuild/protobuf";
import { contractDescriptorSet, version } from "../../cli/package-info";
import { surfaceOpenApi } from "../../gateway/surfaces/documents";
import { hostApi } from "../../gateway/surfaces/host-api";
import { terminalApi } from "../../gateway/surfaces/terminal-api";
import { loadContract } from "../../gateway/transcoder/descriptors";

interface Schema {
  readonly $ref?: string;
  readonly type?: string;
  readonly enum?: string[];
  readonly required?: string[];
  readonly properties?: Record<string, Schema>;
  readonly items?: Schema;
}
interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
  readonly schema: Schema;
}
interface Operation {
  readonly parameters: Parameter[];
  readonly requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  readonly responses: Record<string, { $ref?: string }>;
}
interface Document {
  readonly servers: { url: string }[];
  readonly security: unknown[];
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { schemas: Record<string, Schema>; responses: Record<string, { content: Record<string, { schema: Schema }> }> };
}

const contract = loadContract(contractDescriptorSet());
const terminal = surfaceOpenApi(contract, terminalApi, version) as unknown as Document;
const host = surfaceOpenApi(contract, hostApi, version) as unknown as Document;

function operation(doc: Document, path: string, method: string): Operation {
  const op = doc.paths[path]?.[method];
  assert.ok(op, `${method.toUpperCase()} ${path} is in the document`);
  return op;
}

/** The schema a reference points to, or the schema itself. */
function resolve(doc: Document, schema: Schema | undefined): Schema {
  assert.ok(schema);
  if (!schema.$ref) return schema;
  const found = doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")];
  assert.ok(found, `${schema.$ref} exists`);
  return found;
}

function bodySchema(doc: Document, path: string, method = "post"): Schema {
  return resolve(doc, operation(doc, path, method).requestBody?.content["application/json"]?.schema);
}

const operations = (doc: Document): Operation[] => Object.values(doc.paths).flatMap((item) => Object.values(item));

describe("OpenAPI documents of the surfaces", () => {
  it("require what field_behavior marks REQUIRED: /input without `text` is not a valid body", () => {
    const input = bodySchema(terminal, "/api/v2/terminals/{id}/input");
    assert.deepEqual(input.required, ["text"]);
    assert.equal(operation(terminal, "/api/v2/terminals/{id}/input", "post").requestBody?.required, true);
    assert.deepEqual(bodySchema(host, "/api/v1/exec").required, ["command"]);
    assert.deepEqual(bodySchema(terminal, "/api/v2/terminals/{id}/mouse/position").required, ["x", "y"]);
  });

  it("leave a body optional when nothing in it is required (POST .../focus takes none)", () => {
    assert.equal(operation(terminal, "/api/v2/terminals/{id}/focus", "post").requestBody?.required, false);
  });

  it("require in responses what the server always writes, and not what it writes only when set", () => {
    const required = terminal.components.schemas["ghostd.terminal.v1.Terminal"]?.required ?? [];
    for (const always of ["id", "kind", "columns"]) assert.ok(required.includes(always), always);
    assert.ok(!required.includes("working_directory"), "an optional field is not always there");
    assert.ok(!required.includes("statusbar"), "a message field is written only when set");
  });

  it("do not repeat path parameters in bodies", () => {
    for (const path of ["/api/v2/terminals/{id}/input", "/api/v2/terminals/{id}/action", "/api/v1/surfaces/{id}/actions"]) {
      assert.ok(!("id" in (bodySchema(terminal, path).properties ?? {})), path);
    }
    assert.ok(!("project_id" in (bodySchema(terminal, "/v1/projects/{project_id}:start").properties ?? {})));
  });

  it("spell enums with the seeds' values only, never *_UNSPECIFIED", () => {
    assert.deepEqual(terminal.components.schemas["ghostd.terminal.v1.TerminalKind"]?.enum, ["normal", "quick"]);
    assert.deepEqual(terminal.components.schemas["ghostd.supervisor.v1.Protocol"]?.enum, ["tcp", "udp"]);
    assert.deepEqual(terminal.components.schemas["ghostd.supervisor.v1.ServiceState"]?.enum, ["stopped", "starting", "running", "stopping", "failed"]);
    for (const doc of [terminal, host]) assert.doesNotMatch(JSON.stringify(doc), /_UNSPECIFIED/);
  });

  it("make strings with a seed's fixed vocabulary enums, path parameters included", () => {
    const type = operation(terminal, "/api/v2/terminals/{id}/details/{type}", "get").parameters.find((p) => p.name === "type");
    assert.deepEqual(type, { ...type, in: "path", required: true, schema: { type: "string", enum: ["title", "working_directory", "contents", "selection", "visible"] } });
    const create = bodySchema(terminal, "/api/v2/terminals");
    assert.deepEqual(create.properties?.location?.enum, ["window", "tab", "split:left", "split:right", "split:up", "split:down"]);
    const key = bodySchema(terminal, "/api/v2/terminals/{id}/key");
    assert.deepEqual(key.properties?.mods?.items?.enum, ["shift", "control", "option", "command"]);
    const { action, key: name } = key.properties ?? {};
    assert.deepEqual(action?.enum, ["press", "release"]);
    assert.ok(name && name.enum === undefined, "key names are open-ended");
    assert.deepEqual(bodySchema(terminal, "/api/v2/terminals/{id}/mouse/button").properties?.button?.enum, ["left", "right", "middle"]);
    assert.deepEqual(bodySchema(terminal, "/api/v2/terminals/{id}/mouse/scroll").properties?.momentum?.enum, ["none", "began", "changed", "ended", "cancelled", "stationary"]);
  });

  it("answer errors per status with the surface's error body", () => {
    const cases: [Document, string[]][] = [
      [terminal, ["error", "message"]],
      [host, ["error", "code"]],
    ];
    for (const [doc, required] of cases) {
      for (const op of operations(doc)) {
        assert.equal(op.responses.default, undefined);
        for (const status of ["400", "404", "500"]) assert.equal(op.responses[status]?.$ref, `#/components/responses/${status}`);
      }
      for (const response of Object.values(doc.components.responses)) {
        assert.deepEqual(resolve(doc, response.content["application/json"]?.schema).required, required);
      }
    }
    assert.ok(operation(terminal, "/api/v2/terminals/{id}/input", "post").responses["415"], "a JSON body may be refused 415");
    assert.equal(operation(terminal, "/api/v2/terminals", "get").responses["415"], undefined, "a GET has no body to refuse");
  });

  it("name their servers and say that no credentials are taken", () => {
    assert.deepEqual(terminal.servers.map((s) => s.url), ["http://127.0.0.1:19999"]);
    assert.deepEqual(host.servers.map((s) => s.url), ["http://localhost"]);
    for (const doc of [terminal, host]) assert.deepEqual(doc.security, []);
  });

  it("are JSON objects the gateway can serve as they are", () => {
    for (const doc of [terminal, host] as unknown as JsonObject[]) assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });
});
