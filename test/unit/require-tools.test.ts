import assert from "node:assert/strict";
import { requireTools } from "../helpers/tools";

describe("requireTools (the test helper)", () => {
  const missing = { what: "frobnicate", present: false, provider: "Debian package frob-tools" };

  function withCi<T>(value: string | undefined, fn: () => T): T {
    const saved = process.env.CI;
    if (value === undefined) delete process.env.CI;
    else process.env.CI = value;
    try {
      return fn();
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  }

  it("fails in CI, naming the Debian package .ci/run must install", function () {
    assert.throws(() => withCi("true", () => requireTools(this, [missing])), /lacks frobnicate \(Debian package frob-tools\): \.ci\/run must provide Debian package frob-tools/);
  });

  it("lets the test go on when everything is here", function () {
    withCi("true", () => requireTools(this, [{ ...missing, present: true }]));
  });
});
