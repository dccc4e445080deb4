import type { DescMethod } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import { contractDescriptorSet } from "../../../cli/package-info";
import type { McpResource } from "../../../generated/ghostd/options/v1/options";
import { MCP_SERVICES } from "../../../gateway/mcp/mcp-services";
import { resourceTable } from "../../../gateway/mcp/resource-table";
import { loadContract, type Contract } from "../../../gateway/transcoder/descriptors";

const contract = loadContract(contractDescriptorSet());

/** The contract with one method's resource option replaced, as a proto edit would. */
function withResource(methodName: string, option: Partial<McpResource>): Contract {
  const base: McpResource = { uriTemplate: "ghostd://terminals/{id}", name: "X", description: "An x.", mimeType: "text/plain", textField: "", listMethod: "ListTerminals", pollMs: 1000 };
  return { ...contract, mcpResource: (method: DescMethod) => (method.name === methodName ? { ...base, ...option } : contract.mcpResource(method)) };
}

describe("MCP resources from the contract's options", () => {
  it("offers a terminal's screen (a watch) and a project's status (polled), each listed by its list method", () => {
    const entries = resourceTable(contract, MCP_SERVICES);
    assert.deepEqual(
      entries.map((e) => [e.template.uriTemplate, e.method.name, e.list.method.name, e.list.key.name, e.variable.name]),
      [
        ["ghostd://terminals/{id}/screen", "WatchScreen", "ListTerminals", "id", "id"],
        ["ghostd://projects/{project_id}/status", "GetProjectStatus", "ListProjects", "project_id", "project_id"],
      ],
    );
    const screen = entries[0]!;
    assert.equal(screen.valueIn("ghostd://terminals/abc/screen"), "abc");
    assert.equal(screen.valueIn("ghostd://terminals/a/b/screen"), undefined, "a value never spans a /");
  });

  it("refuses options it could not serve, naming the method", () => {
    const cases: [string, Partial<McpResource>, RegExp][] = [
      ["GetTerminal", { uriTemplate: "ghostd://terminals/{id}/{type}" }, /Terminals\/GetTerminal: MCP resource .*: its URI template must have exactly one variable/],
      ["GetTerminal", { uriTemplate: "ghostd://terminals/{nope}" }, /nope is not a field of/],
      ["GetTerminal", { pollMs: 0 }, /a unary method needs poll_ms/],
      ["GetTerminal", { textField: "nope" }, /nope is not a field of/],
      ["GetTerminal", { listMethod: "ListNothing" }, /no method ListNothing lists them/],
      ["GetTerminal", { listMethod: "GetFocusedTerminal" }, /GetFocusedTerminal answers no list of messages/],
      ["AttachTerminal", { uriTemplate: "ghostd://terminals/{open}" }, /only unary and server-streaming methods can be read/],
    ];
    for (const [method, option, error] of cases) assert.throws(() => resourceTable(withResource(method, option), MCP_SERVICES), error);
  });
});
