import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { contractDescriptorSet, standardDescriptorSet } from "../../../cli/package-info";
import { DescriptorIndex, DescriptorNotFound } from "../../../server/rpc/reflection/descriptor-index";
import { answer } from "../../../server/rpc/reflection/service";

const GOOGLE_API_HTTP = 72295728;

describe("reflection's descriptor index", () => {
  const index = new DescriptorIndex([contractDescriptorSet(), standardDescriptorSet()]);
  const names = (files: Uint8Array[]): string[] => files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);

  it("answers a file with everything it imports, dependencies listed as written", () => {
    const files = index.fileByName("ghostd/supervisor/v1/supervisor.proto");
    const [first] = files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    assert.ok(first);
    assert.equal(first.name, "ghostd/supervisor/v1/supervisor.proto");
    assert.ok(first.dependency.length > 0);
    for (const dependency of first.dependency) assert.ok(names(files).includes(dependency), dependency);
    assert.equal(new Set(names(files)).size, files.length, "each file once");
  });

  it("keeps method options and fully qualified type names", () => {
    const [file] = index.fileContainingSymbol("ghostd.supervisor.v1.Supervisor.GetProjectStatus").map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    assert.ok(file);
    const method = file.service.find((s) => s.name === "Supervisor")?.method.find((m) => m.name === "GetProjectStatus");
    assert.ok(method);
    assert.equal(method.inputType, ".ghostd.supervisor.v1.GetProjectStatusRequest");
    // google.api.http is an extension of MethodOptions: kept as the bytes it was built with.
    assert.ok(method.options, "GetProjectStatus has options");
    assert.ok((method.options.$unknown ?? []).some((field) => field.no === GOOGLE_API_HTTP));
  });

  it("finds the standard services under their canonical file names, and nested symbols", () => {
    assert.deepEqual(names(index.fileContainingSymbol("grpc.health.v1.Health")), ["grpc/health/v1/health.proto"]);
    assert.deepEqual(names(index.fileContainingSymbol(".grpc.health.v1.HealthCheckResponse.ServingStatus")), ["grpc/health/v1/health.proto"]);
    assert.equal(names(index.fileByName("google/api/annotations.proto"))[0], "google/api/annotations.proto");
    assert.ok(names(index.fileContainingSymbol("grpc.reflection.v1alpha.ServerReflection")).includes("grpc/reflection/v1alpha/reflection.proto"));
  });

  it("finds a map field's entry message, as Python's and C++'s descriptor pools name it", () => {
    assert.equal(names(index.fileContainingSymbol("ghostd.agent.v1.ExecRequest.EnvEntry"))[0], "ghostd/agent/v1/agent.proto");
    assert.throws(() => index.fileContainingSymbol("ghostd.agent.v1.ExecRequest.NoSuchEntry"), DescriptorNotFound);
  });

  it("finds extensions by their extendee and number", () => {
    assert.equal(names(index.fileContainingExtension("google.protobuf.MethodOptions", GOOGLE_API_HTTP))[0], "google/api/annotations.proto");
    assert.ok(index.extensionNumbersOf("google.protobuf.MethodOptions").includes(GOOGLE_API_HTTP));
  });

  it("says what it does not know", () => {
    assert.throws(() => index.fileByName("nope.proto"), DescriptorNotFound);
    assert.throws(() => index.fileContainingSymbol("ghostd.supervisor.v1.Supervisor.NoSuchMethod"), DescriptorNotFound);
    assert.throws(() => index.fileContainingExtension("google.protobuf.MethodOptions", 1), DescriptorNotFound);
    const reply = answer({ host: "", fileContainingSymbol: "no.Such" }, index, []);
    assert.equal(reply.errorResponse?.errorCode, status.NOT_FOUND);
    assert.equal(answer({ host: "" }, index, []).errorResponse?.errorCode, status.INVALID_ARGUMENT);
  });
});
