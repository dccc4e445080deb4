import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { MANIFEST_FILES } from "../server/supervisor/manifest";

/** The app id in a package's manifest, for `ensure` without --app-id. */
export function appIdOf(packagePath: string): string {
  for (const name of MANIFEST_FILES) {
    let text: string;
    try {
      text = readFileSync(join(packagePath, name), "utf8");
    } catch {
      continue;
    }
    const manifest: unknown = parseYaml(text);
    if (typeof manifest === "object" && manifest !== null && "id" in manifest && typeof manifest.id === "string") return manifest.id;
  }
  throw new Error(`no app id: ${packagePath} has no vibe.yaml with an id; pass --app-id`);
}
