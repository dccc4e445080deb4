import type { DescMethod } from "@bufbuild/protobuf";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import type { McpTool } from "../../generated/ghostd/options/v1/options";
import type { Contract } from "../transcoder/descriptors";
import type { JsonCodec } from "../transcoder/json-codec";
import { inputSchema } from "./input-schema";

/** One tool: what `tools/list` says of it, the method it calls, and its option. */
export interface ToolEntry {
  readonly tool: Tool;
  readonly method: DescMethod;
  readonly option: McpTool;
}

/**
 * The MCP tools of the given services: every method marked `ghostd.options.v1.mcp_tool`, in the
 * contract's order. Nothing here names a method: the contract alone says which are tools.
 */
export function toolTable(contract: Contract, codec: JsonCodec, services: readonly string[]): ToolEntry[] {
  const entries: ToolEntry[] = [];
  for (const service of services) {
    for (const method of contract.service(service).methods) {
      const option = contract.mcpTool(method);
      if (option) entries.push({ tool: describeTool(codec, method, option), method, option });
    }
  }
  assertDistinct(entries);
  return entries;
}

function describeTool(codec: JsonCodec, method: DescMethod, option: McpTool): Tool {
  checkOption(method, option);
  for (const hidden of option.hiddenFields) {
    if (!method.input.fields.some((f) => f.name === hidden)) throw new Error(`${method.parent.typeName}/${method.name}: hidden field "${hidden}" is not a field of ${method.input.typeName}`);
  }
  return {
    name: option.name,
    description: option.description,
    inputSchema: inputSchema(codec, method.input, option.hiddenFields) as Tool["inputSchema"],
    annotations: {
      readOnlyHint: option.readOnly,
      destructiveHint: option.destructive,
      idempotentHint: option.idempotent,
      // Every tool acts on this machine's terminals, files and projects, never beyond it.
      openWorldHint: false,
    },
  };
}

/** MCP names: letters, digits, `_` and `-`; a streaming method that never ends is no tool. */
function checkOption(method: DescMethod, option: McpTool): void {
  const where = `${method.parent.typeName}/${method.name}`;
  if (!/^[a-z][a-z0-9_]*$/.test(option.name)) throw new Error(`${where}: MCP tool name "${option.name}" must be lowercase words joined by _`);
  if (!option.description.trim()) throw new Error(`${where}: MCP tool ${option.name} needs a description`);
  if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") throw new Error(`${where}: only unary and server-streaming methods can be MCP tools`);
  if (option.readOnly && option.destructive) throw new Error(`${where}: MCP tool ${option.name} cannot be both read-only and destructive`);
}

function assertDistinct(entries: readonly ToolEntry[]): void {
  const seen = new Set<string>();
  for (const { tool } of entries) {
    if (seen.has(tool.name)) throw new Error(`two methods are the MCP tool ${tool.name}`);
    seen.add(tool.name);
  }
}
