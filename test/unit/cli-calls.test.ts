import assert from "node:assert/strict";
import { ghostdServices } from "../../cli/calls";
import { contractDescriptorSet } from "../../cli/package-info";
import { withoutSourceInfo } from "../../gateway/transcoder/descriptor-set";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { GHOSTD_SERVICES } from "../../server/rpc/service-names";

describe("ghostctl calls", () => {
  it("calls among the same services the daemon serves, read from the contract instead of the generated code", () => {
    const found = ghostdServices(loadContract(withoutSourceInfo(contractDescriptorSet())));
    assert.deepEqual([...found].sort(), [...GHOSTD_SERVICES].sort());
  });
});
