import type { JsonObject } from "@bufbuild/protobuf";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";

export const GHOSTCTL = join(packageRoot, "dist", "cli", "ghostctl.js");

/** What a tool answered: its JSON (the last text block), the note before it, and whether it failed. */
export interface ToolAnswer {
  readonly isError: boolean;
  readonly json: JsonObject;
  /** The cut note, when the output was cut. */
  readonly note: string | undefined;
}

/** Calls a tool by name: through the SDK's client, or the Inspector's CLI. */
export type CallTool = (name: string, args: JsonObject) => Promise<ToolAnswer>;

/** A value of an answer that must be a string. */
export function str(value: JsonObject[string] | undefined): string {
  assert.equal(typeof value, "string", `a string, not ${JSON.stringify(value)}`);
  return value as string;
}

export function answerOf(result: CallToolResult): ToolAnswer {
  const texts = result.content.flatMap((block) => (block.type === "text" ? [block.text] : []));
  assert.ok(texts.length > 0, `a tool answers with text: ${JSON.stringify(result)}`);
  const json = JSON.parse(texts[texts.length - 1] ?? "") as JsonObject;
  return { isError: result.isError === true, json, note: texts.length > 1 ? texts[0] : undefined };
}

export async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: "ghostd-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** `ghostctl mcp` started as an MCP client starts a server: a command, spoken to on stdio. */
export async function connectStdio(home: string): Promise<Client> {
  const client = new Client({ name: "ghostd-test", version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [GHOSTCTL, "--home", home, "mcp"], stderr: "pipe" }));
  return client;
}

export function sdkCaller(client: Client): CallTool {
  return async (name, args) => answerOf((await client.callTool({ name, arguments: args })) as CallToolResult);
}

const execFileAsync = promisify(execFile);
const INSPECTOR = join(packageRoot, "node_modules", "@modelcontextprotocol", "inspector-cli", "build", "cli.js");

/**
 * The MCP Inspector's CLI mode, a client written apart from ghostd's: one process per call, as a
 * script would run it. It reads its own package.json by a path relative to the working directory,
 * so it runs from its build directory.
 */
export function inspectorCaller(target: readonly string[]): CallTool {
  return async (name, args) => {
    const pairs = Object.entries(args).flatMap(([key, value]) => ["--tool-arg", `${key}=${inspectorValue(value)}`]);
    const { stdout } = await execFileAsync(process.execPath, [INSPECTOR, "--cli", ...target, "--method", "tools/call", "--tool-name", name, ...pairs], { cwd: dirname(INSPECTOR), timeout: 60_000 });
    return answerOf(JSON.parse(stdout) as CallToolResult);
  };
}

/** The Inspector reads a value as JSON when it can: a string that reads as JSON goes quoted. */
function inspectorValue(value: JsonObject[string]): string {
  if (typeof value !== "string") return JSON.stringify(value);
  try {
    JSON.parse(value);
    return JSON.stringify(value);
  } catch {
    return value;
  }
}

/** `tools/list` through the Inspector's CLI. */
export async function inspectorTools(target: readonly string[]): Promise<{ name: string }[]> {
  const { stdout } = await execFileAsync(process.execPath, [INSPECTOR, "--cli", ...target, "--method", "tools/list"], { cwd: dirname(INSPECTOR), timeout: 60_000 });
  return (JSON.parse(stdout) as { tools: { name: string }[] }).tools;
}
