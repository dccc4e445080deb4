import type { Contract } from "../transcoder/descriptors";
import { JsonCodec } from "../transcoder/json-codec";
import { MCP_SERVICES } from "./mcp-services";
import { toolTable } from "./tool-table";

/**
 * The tools as a Markdown table, from the same table the MCP server lists: what docs/mcp.md
 * carries between its markers, and `ghostctl mcp --list` prints.
 */
export function toolListMarkdown(contract: Contract): string {
  const codec = new JsonCodec(contract, { protoNames: true });
  const lines = ["| tool | what it does | arguments (**required**) | hints | gRPC method |", "| --- | --- | --- | --- | --- |"];
  for (const { tool, method } of toolTable(contract, codec, MCP_SERVICES)) {
    const required = new Set(tool.inputSchema.required ?? []);
    const args = Object.keys(tool.inputSchema.properties ?? {}).map((name) => (required.has(name) ? `**${name}**` : name));
    const hints = [tool.annotations?.readOnlyHint && "read-only", tool.annotations?.destructiveHint && "destructive", tool.annotations?.idempotentHint && "idempotent"].filter(Boolean);
    const description = (tool.description ?? "").replace(/\|/g, "\\|");
    lines.push(`| \`${tool.name}\` | ${description} | ${args.join(", ") || "none"} | ${hints.join(", ")} | \`${method.parent.name}.${method.name}\` |`);
  }
  return `${lines.join("\n")}\n`;
}
