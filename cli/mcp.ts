import { Client, credentials } from "@grpc/grpc-js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { DEFAULT_MAX_OUTPUT_CHARS } from "../gateway/mcp/tool-calls";
import { McpSurface } from "../gateway/mcp/mcp-server";
import { reasonAndMessage } from "../gateway/surfaces/error-dialects";
import { loadContract } from "../gateway/transcoder/descriptors";
import { JsonCodec } from "../gateway/transcoder/json-codec";
import { MAX_MESSAGE_BYTES } from "../server/rpc/limits";
import { MCP_SERVICES } from "../gateway/mcp/mcp-services";
import { notRunning } from "./call-failure";
import { contractDescriptorSet, version } from "./package-info";

/**
 * `ghostctl mcp`: ghostd's MCP server on standard input and output, for an MCP client that starts
 * its servers as commands. It calls the daemon over gRPC, as every ghostctl command does, with
 * the same tools, schemas and bounds as `/mcp`; standard output carries MCP messages only.
 */
export async function serveMcpOverStdio(target: string): Promise<void> {
  // Source info stays: the tools' schemas describe each argument from the contract's comments.
  const contract = loadContract(contractDescriptorSet());
  const client = new Client(target, credentials.createInsecure(), { "grpc.max_receive_message_length": MAX_MESSAGE_BYTES });
  const mcp = new McpSurface({
    contract,
    codec: new JsonCodec(contract, { protoNames: true }),
    upstream: () => client,
    renderError: reasonAndMessage,
    maxOutputChars: DEFAULT_MAX_OUTPUT_CHARS,
    unreachable: notRunning(target),
    services: MCP_SERVICES,
    version,
  });
  const server = mcp.server({ subscriptions: true });
  const closed = new Promise<void>((resolve) => (server.onclose = resolve));
  await server.connect(new StdioServerTransport());
  // The client ending standard input is the end of the session, once what it asked is answered.
  process.stdin.once("end", () => void mcp.settled().then(() => server.close()));
  await closed;
  client.close();
}
