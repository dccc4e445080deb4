import { credentials, loadPackageDefinition, makeClientConstructor, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { join } from "node:path";
import { packageRoot } from "../../cli/package-info";

/** grpc.health.v1.Health/Check for one service name. */
export function healthCheck(target: string, service: string): Promise<string> {
  const Health = makeClientConstructor(healthService, "grpc.health.v1.Health");
  const client = new Health(target, credentials.createInsecure()) as unknown as Client & {
    check(req: { service: string }, cb: (err: ServiceError | null, res?: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) => {
    client.check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res?.status ?? "");
    });
  });
}

interface ReflectionStream {
  write(message: object): void;
  end(): void;
  on(event: "data", listener: (message: { listServicesResponse?: { service: { name: string }[] } }) => void): void;
  on(event: "error", listener: (err: Error) => void): void;
}

/** The services a server lists through grpc.reflection.v1, as grpcurl would ask for them. */
export function reflectedServices(target: string): Promise<string[]> {
  const definition = loadSync(join(packageRoot, "node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto"));
  const loaded = loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & { serverReflectionInfo(): ReflectionStream } } } };
  };
  const client = new loaded.grpc.reflection.v1.ServerReflection(target, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = client.serverReflectionInfo();
    stream.on("data", (message) => {
      resolve((message.listServicesResponse?.service ?? []).map((s) => s.name).sort());
      stream.end();
      client.close();
    });
    stream.on("error", reject);
    stream.write({ listServices: "" });
  });
}
