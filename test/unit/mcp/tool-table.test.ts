import type { DescMethod, JsonObject } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import { contractDescriptorSet } from "../../../cli/package-info";
import type { McpTool } from "../../../generated/ghostd/options/v1/options";
import { toolTable, type ToolEntry } from "../../../gateway/mcp/tool-table";
import { loadContract, type Contract } from "../../../gateway/transcoder/descriptors";
import { JsonCodec } from "../../../gateway/transcoder/json-codec";
import { MCP_SERVICES } from "../../../gateway/mcp/mcp-services";

const contract = loadContract(contractDescriptorSet());
const codec = new JsonCodec(contract, { protoNames: true });

function tool(name: string): ToolEntry {
  const entry = toolTable(contract, codec, MCP_SERVICES).find((e) => e.tool.name === name);
  assert.ok(entry, `no tool ${name}`);
  return entry;
}

/** The contract with one method's option replaced, as a proto edit would. */
function withOption(methodName: string, option: Partial<McpTool>): Contract {
  const base: McpTool = { name: "x_tool", description: "Does x.", readOnly: false, destructive: false, idempotent: false, hiddenFields: [], keepEnd: false };
  return { ...contract, mcpTool: (method: DescMethod) => (method.name === methodName ? { ...base, ...option } : contract.mcpTool(method)) };
}

describe("MCP tools from the contract's options", () => {
  it("takes each tool's input schema from its request message: required fields, comments, nothing else", () => {
    const schema = tool("terminal_input").tool.inputSchema as JsonObject;
    assert.deepEqual(schema.required, ["id", "text"]);
    assert.equal(schema.additionalProperties, false);
    const properties = schema.properties as Record<string, JsonObject>;
    assert.deepEqual(Object.keys(properties), ["id", "text", "enter", "paste"]);
    assert.match(properties.enter?.description as string, /Enter key after the text/);
  });

  it("leaves out hidden fields, and takes file content and bytes as text", () => {
    assert.ok(!("follow" in (tool("project_logs").tool.inputSchema.properties ?? {})), "a stream's follow would never end the call");
    const body = (tool("file_write").tool.inputSchema.properties as Record<string, JsonObject>).body;
    assert.deepEqual(body, { type: "string", description: "The content, as UTF-8 text" });
    const compose = (tool("compose_validate").tool.inputSchema.properties as Record<string, JsonObject | undefined>).compose_content;
    assert.equal(compose?.type, "string");
    assert.match(compose.description as string, /As text: its UTF-8 bytes are sent\.$/);
  });

  it("makes each schema stand alone: every reference is to its own $defs", () => {
    for (const { tool: t } of toolTable(contract, codec, MCP_SERVICES)) {
      const text = JSON.stringify(t.inputSchema);
      for (const [, name] of text.matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)) {
        assert.ok(name && (t.inputSchema.$defs as JsonObject | undefined)?.[name], `${t.name} refers to ${name ?? ""}, which it lacks`);
      }
      assert.ok(!text.includes("#/components/"), `${t.name} refers into an OpenAPI document`);
    }
  });

  it("carries the hints: read-only, destructive, idempotent, never open-world", () => {
    assert.deepEqual(tool("terminal_read").tool.annotations, { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    assert.equal(tool("file_delete").tool.annotations?.destructiveHint, true);
    assert.equal(tool("snapshot_restore").tool.annotations?.destructiveHint, true);
  });

  it("refuses options a client could not use, naming the method", () => {
    const cases: [string, Partial<McpTool>, RegExp][] = [
      ["ListTerminals", { name: "List-Terminals" }, /Terminals\/ListTerminals: MCP tool name "List-Terminals" must be lowercase/],
      ["ListTerminals", { description: " " }, /needs a description/],
      ["ListTerminals", { readOnly: true, destructive: true }, /cannot be both read-only and destructive/],
      ["ListTerminals", { hiddenFields: ["nope"] }, /hidden field "nope" is not a field/],
      ["AttachTerminal", {}, /only unary and server-streaming methods can be MCP tools/],
      ["GetTerminal", { name: "terminal_list" }, /two methods are the MCP tool terminal_list/],
    ];
    for (const [method, option, error] of cases) {
      assert.throws(() => toolTable(withOption(method, option), codec, MCP_SERVICES), error);
    }
  });
});
