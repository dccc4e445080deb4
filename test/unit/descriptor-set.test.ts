import assert from "node:assert/strict";
import { equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { contractDescriptorSet } from "../../cli/package-info";
import { withoutSourceInfo } from "../../gateway/transcoder/descriptor-set";
import { loadContract } from "../../gateway/transcoder/descriptors";

describe("withoutSourceInfo", () => {
  const set = contractDescriptorSet();

  it("drops every file's source code info and keeps the rest byte for byte", () => {
    const stripped = withoutSourceInfo(set);
    const expected = fromBinary(FileDescriptorSetSchema, set);
    assert.ok(expected.file.some((f) => f.sourceCodeInfo), "the contract's set carries comments to drop");
    for (const file of expected.file) file.sourceCodeInfo = undefined;
    const got = fromBinary(FileDescriptorSetSchema, stripped);
    assert.ok(equals(FileDescriptorSetSchema, got, expected));
    assert.deepEqual(Buffer.from(stripped), Buffer.from(toBinary(FileDescriptorSetSchema, expected)));
    assert.ok(stripped.length < set.length / 2, `${stripped.length} of ${set.length} bytes`);
  });

  it("leaves a contract that still finds every method and its HTTP rule", () => {
    const full = loadContract(set);
    const lean = loadContract(withoutSourceInfo(set));
    for (const file of full.registry.files) {
      for (const service of file.services) {
        const leanService = lean.service(service.typeName);
        for (const method of service.methods) {
          const leanMethod = leanService.methods.find((m) => m.name === method.name);
          assert.ok(leanMethod, `${service.typeName}/${method.name}`);
          assert.deepEqual(lean.httpRule(leanMethod), full.httpRule(method));
        }
      }
    }
  });

  it("keeps fields it does not know, on the set and in a file", () => {
    const file = new BinaryWriter().tag(1, WireType.LengthDelimited).string("a.proto").tag(9, WireType.LengthDelimited).bytes(new Uint8Array([1, 2])).tag(99, WireType.Varint).uint32(7).finish();
    const input = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(file).tag(50, WireType.Varint).uint32(3).finish();
    const expectedFile = new BinaryWriter().tag(1, WireType.LengthDelimited).string("a.proto").tag(99, WireType.Varint).uint32(7).finish();
    const expected = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(expectedFile).tag(50, WireType.Varint).uint32(3).finish();
    assert.deepEqual(Buffer.from(withoutSourceInfo(input)), Buffer.from(expected));
  });
});
