import { credentials, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { join } from "node:path";
import pino from "pino";
import { contractDescriptorSet, standardDescriptorSet } from "../../../cli/package-info";
import { reasonOf } from "../../../gateway/transcoder/errors";
import { ImportPackageRequest, SupervisorClient, SupervisorService } from "../../../generated/ghostd/supervisor/v1/supervisor";
import { bindService } from "../../../server/rpc/bind";
import { daemonPeerPolicy } from "../../../server/peer-credentials";
import { startGrpcServer, type RunningGrpcServer } from "../../../server/rpc/server";
import { tempDir } from "../../helpers/tmp";

describe("a service bound without a method's handler", () => {
  let server: RunningGrpcServer;
  const dir = tempDir("bind-");

  before(async () => {
    server = await startGrpcServer({
      socketPath: join(dir.path, "grpc.sock"),
      peers: daemonPeerPolicy(true),
      keepaliveMs: 60_000,
      idleTimeoutMs: 60_000,
      services: [bindService(SupervisorService, {})],
      descriptorSets: [contractDescriptorSet(), standardDescriptorSet()],
      logger: pino({ level: "silent" }),
    });
  });

  after(async () => {
    await server.close(0);
    dir.remove();
  });

  it("answers UNIMPLEMENTED over the wire, naming the method, instead of made-up data", async () => {
    const client = new SupervisorClient(server.addresses.unix, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((resolve) => client.importPackage(ImportPackageRequest.fromPartial({ packageDataPath: "/p.vibeapp" }), (e) => resolve(e)));
    client.close();
    assert.equal(err?.code, GrpcStatus.UNIMPLEMENTED);
    assert.match(err.details, /ghostd\.supervisor\.v1\.Supervisor\/ImportPackage is not implemented yet/);
    assert.equal(reasonOf(err), "unimplemented");
  });
});
