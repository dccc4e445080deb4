import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";

const execFileAsync = promisify(execFile);

/** What a TypeScript user writes; the wrong call must be an error there too, so the types are not `any`. */
const CONSUMER = `import { hostApi, terminalApi } from "ghostd/client";

export async function consumer(socketPath: string): Promise<string> {
  const terminals = terminalApi({ baseUrl: "http://127.0.0.1:19999" });
  const host = hostApi({ socketPath });
  const { data } = await host.POST("/api/v1/exec", { body: { command: "uname" } });
  // @ts-expect-error \`text\` is required
  await terminals.POST("/api/v2/terminals/{id}/input", { params: { path: { id: "x" } }, body: {} });
  await host.close();
  return data?.stdout ?? "";
}
`;

describe("ghostd/client as a package export", () => {
  it("type-checks for a TypeScript user importing ghostd/client, from the built declarations", async function () {
    this.timeout(60_000);
    // Inside the package, so that Node's self-reference resolves `ghostd` through package.json exports.
    mkdirSync(join(packageRoot, "dist"), { recursive: true });
    const dir = mkdtempSync(join(packageRoot, "dist", "consumer-"));
    try {
      writeFileSync(join(dir, "consumer.ts"), CONSUMER);
      const tsc = join(packageRoot, "node_modules", ".bin", "tsc");
      const flags = ["--noEmit", "--strict", "--module", "node16", "--moduleResolution", "node16", "--target", "ES2022", "--skipLibCheck", "--types", "node"];
      const run = await execFileAsync(tsc, [...flags, join(dir, "consumer.ts")], { cwd: dir }).catch((err: unknown) => err as { stdout: string });
      assert.equal(run.stdout, "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
