#!/usr/bin/env node
import { fromBinary, toBinary, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadContract, type Contract } from "../gateway/transcoder/descriptors";
import { JsonCodec } from "../gateway/transcoder/json-codec";
import { displayPath } from "../gateway/transcoder/path-template";
import { buildRoutes } from "../gateway/transcoder/routes";
import { formatTarget, parseTarget } from "../gateway/transport/targets";
import { routeListMarkdown } from "../gateway/surfaces/route-list";
import { endpointsPath, grpcSocketPath, resolveHome } from "./config";
import { contractDescriptorSet, version } from "./package-info";

const SERVICES = ["ghostd.supervisor.v1.Supervisor", "ghostd.agent.v1.GuestAgent", "ghostd.terminal.v1.Terminals"];
const identity = (b: Buffer): Buffer => b;

interface GlobalFlags {
  home?: string;
  target?: string;
}

const program = new Command()
  .name("ghostctl")
  .description("talk to a ghostd daemon over gRPC")
  .version(version)
  .addOption(new Option("--home <dir>", "the daemon's state directory").env("GHOSTD_HOME"))
  .addOption(new Option("--target <address>", "the server: unix:/path or host:port (default the home's socket)").env("GHOSTD_TARGET"));

program
  .command("services")
  .description("list every method with its HTTP route")
  .action(() => {
    const contract = loadContract(contractDescriptorSet());
    const routes = buildRoutes(contract, SERVICES);
    for (const name of SERVICES) {
      for (const method of contract.service(name).methods) {
        const bindings = routes.filter((r) => r.method === method).map((r) => `${r.httpMethod} ${displayPath(r.template)}`);
        process.stdout.write(`${name}/${method.name}${method.methodKind === "server_streaming" ? " (stream)" : ""}\t${bindings.join(", ")}\n`);
      }
    }
  });

program
  .command("routes")
  .description("print every HTTP route of both surfaces as a Markdown table (docs/http-routes.md)")
  .action(() => {
    process.stdout.write(routeListMarkdown(loadContract(contractDescriptorSet())));
  });

program
  .command("call")
  .description("call a method with a JSON request; responses are printed as JSON, one per line")
  .argument("<method>", "Service/Method, e.g. ghostd.supervisor.v1.Supervisor/ListProjects or Supervisor/ListProjects")
  .argument("[json]", "the request as JSON, or @file, or - for standard input", "{}")
  .action(async (name: string, json: string) => {
    const text = json === "-" ? readFileSync(0, "utf8") : json.startsWith("@") ? readFileSync(json.slice(1), "utf8") : json;
    await invoke(name, JSON.parse(text) as JsonValue);
  });

program
  .command("share")
  .description("queue files for the host to fetch (run inside the guest); prints the queue")
  .argument("<files...>", "files to share")
  .action(async (files: string[]) => {
    await invoke("GuestAgent/QueueFiles", { paths: files.map((file) => resolve(file)) });
  });

/** Calls a method with a JSON request and prints each response as a JSON line. */
async function invoke(name: string, json: JsonValue): Promise<void> {
  const contract = loadContract(contractDescriptorSet());
  const method = findMethod(contract, name);
  const codec = new JsonCodec(contract, { protoNames: true });
  const request = codec.decode(method.input, json);
  const client = new Client(targetOf(program.opts<GlobalFlags>()), credentials.createInsecure());
  const path = `/${method.parent.typeName}/${method.name}`;
  const argument = Buffer.from(toBinary(method.input, request));
  const print = (reply: Buffer): void => {
    process.stdout.write(`${JSON.stringify(codec.encode(method.output, fromBinary(method.output, reply)))}\n`);
  };
  await new Promise<void>((done, fail) => {
    if (method.methodKind === "server_streaming") {
      const call = client.makeServerStreamRequest(path, identity, identity, argument, new Metadata());
      call.on("data", print);
      call.on("error", fail);
      call.on("end", done);
    } else {
      client.makeUnaryRequest(path, identity, identity, argument, (err, reply) => {
        if (err) return fail(err);
        if (reply) print(reply);
        done();
      });
    }
  }).finally(() => client.close());
}

program
  .command("endpoints")
  .description("print where the daemon listens (its endpoints.json)")
  .action(() => {
    process.stdout.write(readFileSync(endpointsPath(resolveHome(program.opts<GlobalFlags>().home)), "utf8"));
  });

function targetOf(flags: GlobalFlags): string {
  return formatTarget(parseTarget(flags.target ?? `unix:${grpcSocketPath(resolveHome(flags.home))}`));
}

function findMethod(contract: Contract, name: string): DescMethod {
  const [serviceName, methodName] = name.replace(/^\//, "").split("/");
  const service = SERVICES.map((s) => contract.service(s)).find((s) => s.typeName === serviceName || s.name === serviceName);
  const method = service?.methods.find((m) => m.name === methodName);
  if (!method) throw new Error(`no method ${name}; see ghostctl services`);
  return method;
}

program.parseAsync().catch((err: unknown) => {
  const grpcError = err as Partial<ServiceError>;
  const message = typeof grpcError.code === "number" ? `${grpcError.details ?? ""} (gRPC code ${grpcError.code})` : (err as Error).message;
  process.stderr.write(`ghostctl: ${message}\n`);
  process.exit(1);
});
