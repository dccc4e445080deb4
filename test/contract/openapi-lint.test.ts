import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";

const execFileAsync = promisify(execFile);

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number };
  readonly problems: readonly { readonly ruleId: string; readonly severity: string; readonly message: string }[];
}

/** Redocly CLI's recommended ruleset over one document; a devDependency, so always there after npm ci. */
async function lint(file: string): Promise<LintReport> {
  const redocly = join(packageRoot, "node_modules", ".bin", "redocly");
  // Exit code 1 means problems were found; the report says which, so it is read either way.
  const run = await execFileAsync(redocly, ["lint", "--extends", "recommended", "--format", "json", file], {
    cwd: packageRoot,
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  }).catch((err: unknown) => {
    if (err && typeof err === "object" && "stdout" in err && typeof err.stdout === "string" && err.stdout.startsWith("{")) return { stdout: err.stdout };
    throw err;
  });
  return JSON.parse(run.stdout) as LintReport;
}

describe("OpenAPI documents under Redocly's recommended rules", () => {
  for (const surface of ["terminal-api", "host-api"]) {
    it(`generated/openapi/${surface}.json has no errors`, async function () {
      this.timeout(60_000);
      const report = await lint(join("generated", "openapi", `${surface}.json`));
      const errors = report.problems.filter((p) => p.severity === "error").map((p) => `${p.ruleId}: ${p.message}`);
      assert.deepEqual(errors, []);
      assert.equal(report.totals.errors, 0);
    });
  }
});
