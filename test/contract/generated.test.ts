import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { packageRoot } from "../../cli/package-info";
import { tempDir } from "../helpers/tmp";

function files(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe("generated code", () => {
  it("is what `npm run generate` writes from proto/ today", function () {
    this.timeout(120_000);
    const out = tempDir();
    try {
      execFileSync(join(packageRoot, "scripts", "generate.sh"), [out.path], { stdio: "pipe" });
      for (const dir of ["generated", join("test", "fixtures", "generated")]) {
        const committed = files(join(packageRoot, dir)).map((f) => relative(packageRoot, f)).sort();
        const fresh = files(join(out.path, dir)).map((f) => relative(out.path, f)).sort();
        assert.deepEqual(committed, fresh, `${dir} has the files generation writes; run npm run generate`);
        if (dir === "generated") {
          // The typed client's documents and types are generated too, and checked like the rest.
          for (const surface of ["terminal-api", "host-api"]) {
            for (const ext of ["json", "ts"]) assert.ok(committed.includes(join("generated", "openapi", `${surface}.${ext}`)), `${surface}.${ext}`);
          }
        }
        const stale = committed.filter((f) => !readFileSync(join(packageRoot, f)).equals(readFileSync(join(out.path, f))));
        assert.deepEqual(stale, [], "these generated files are stale; run npm run generate and commit them");
      }
    } finally {
      out.remove();
    }
  });
});
