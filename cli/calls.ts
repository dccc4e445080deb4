import type { DescMethod, JsonValue } from "@bufbuild/protobuf";
import { Client, credentials, type ClientReadableStream } from "@grpc/grpc-js";
import { withoutSourceInfo } from "../gateway/transcoder/descriptor-set";
import { loadContract, type Contract } from "../gateway/transcoder/descriptors";
import { JsonCodec } from "../gateway/transcoder/json-codec";
import { decodeReply, encodeRequest, findMethod, serverStreamCall, unaryCall } from "../gateway/transport/method-calls";
import { contractDescriptorSet } from "./package-info";

// ghostctl's calls: any method by name, JSON in and out. Commands that call nothing (help,
// --version, package keygen) never load this module, and with it gRPC and the contract.

export function printJson(value: JsonValue): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A method, its request encoded from JSON, its replies decoded to JSON, and a client to call it with. */
function prepareCall(target: string, name: string, json: JsonValue): { method: DescMethod; argument: Buffer; decode: (reply: Buffer) => JsonValue; client: Client } {
  const contract = loadContract(withoutSourceInfo(contractDescriptorSet()));
  const method = findMethod(contract, ghostdServices(contract), name);
  if (!method) throw new Error(`no method ${name}; see ghostctl services`);
  const codec = new JsonCodec(contract, { protoNames: true });
  const argument = encodeRequest(method, codec.decode(method.input, json));
  const client = new Client(target, credentials.createInsecure());
  return { method, argument, decode: (reply) => codec.encode(method.output, decodeReply(method, reply)), client };
}

/**
 * Every service of the contract's own packages, read from the contract rather than from the
 * generated service definitions, whose code (hundreds of kilobytes) a call never runs.
 */
export function ghostdServices(contract: Contract): string[] {
  return [...contract.registry.files].flatMap((file) => file.services.map((service) => service.typeName)).filter((name) => name.startsWith("ghostd."));
}

/** Calls a method with a JSON request and prints each response as a JSON line (or as `print` says). */
export async function invoke(target: string, name: string, json: JsonValue, print: (json: JsonValue) => void = printJson): Promise<void> {
  const { method, argument, decode, client } = prepareCall(target, name, json);
  const show = (reply: Buffer): void => print(decode(reply));
  try {
    if (method.methodKind === "server_streaming") await eachReply(serverStreamCall(client, method, argument), show);
    else show(await unaryCall(client, method, argument).reply);
  } finally {
    client.close();
  }
}

/** How long a follow may take to say it follows before what it is for goes ahead without it. */
const FOLLOW_WAIT_MS = 2000;

/**
 * A server stream read alongside another call: `following` resolves with its first reply (a
 * follower's tail comes even when empty), when it fails, or after FOLLOW_WAIT_MS. Its errors are
 * not told: the call it accompanies tells what is wrong.
 */
export function followStream(target: string, name: string, json: JsonValue, each: (json: JsonValue) => void): { following: Promise<void>; cancel(): void } {
  const { method, argument, decode, client } = prepareCall(target, name, json);
  const call = serverStreamCall(client, method, argument);
  const following = new Promise<void>((resolve) => {
    for (const event of ["data", "error", "end"]) call.once(event, () => resolve());
    setTimeout(resolve, FOLLOW_WAIT_MS).unref();
  });
  call.on("data", (reply: Buffer) => each(decode(reply)));
  call.on("error", () => undefined);
  return {
    following,
    cancel: () => {
      call.cancel();
      client.close();
    },
  };
}

function eachReply(call: ClientReadableStream<Buffer>, show: (reply: Buffer) => void): Promise<void> {
  return new Promise((done, fail) => {
    call.on("data", show);
    call.on("error", fail);
    call.on("end", done);
  });
}
