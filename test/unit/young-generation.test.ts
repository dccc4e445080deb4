import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";

const run = promisify(execFile);

// A fresh process, so the young generation starts at its initial size whatever mocha did before.
const PROBE = `
const { getHeapSpaceStatistics } = require("node:v8");
const { withYoungGenerationHeld } = require(${JSON.stringify(join(packageRoot, "dist", "server", "young-generation.js"))});
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
const kept = [];
async function survivors() {
  // Objects that outlive many scavenges: what makes V8 grow the young generation.
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 2000; i++) kept.push({ round, i, text: "x".repeat(20) + i });
    await new Promise((resolve) => setImmediate(resolve));
  }
  kept.length = 0;
}
(async () => {
  // Garbage only: a few scavenges commit both semi-spaces at their initial size, and grow nothing.
  for (let i = 0; i < 100000; i++) void { i, text: "y" + i };
  const initial = newSpace();
  let nested;
  const held = await withYoungGenerationHeld(async () => {
    nested = await withYoungGenerationHeld(async () => { await survivors(); return newSpace(); });
    await survivors();
    return newSpace();
  });
  await survivors();
  process.stdout.write(JSON.stringify({ initial, nested, held, released: newSpace() }));
})();
`;

describe("withYoungGenerationHeld", function () {
  this.timeout(60_000);

  it("keeps V8's young generation at its size while held, nested holds included, and lets it grow again after", async () => {
    const { stdout } = await run(process.execPath, ["-e", PROBE]);
    const sizes = JSON.parse(stdout) as { initial: number; nested: number; held: number; released: number };
    assert.equal(sizes.nested, sizes.initial, `grew inside the nested hold: ${stdout}`);
    assert.equal(sizes.held, sizes.initial, `grew after the nested hold ended, the outer one still held: ${stdout}`);
    assert.ok(sizes.released > sizes.initial, `did not grow once released: ${stdout}`);
  });
});
