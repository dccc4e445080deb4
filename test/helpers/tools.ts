import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** A program or file a test needs, and the Debian package that brings it. */
export interface Need {
  readonly what: string;
  readonly present: boolean;
  readonly debianPackage: string;
}

export const onPath = (command: string): boolean => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

export const program = (command: string, debianPackage: string): Need => ({ what: command, present: onPath(command), debianPackage });

export const file = (path: string, debianPackage: string): Need => ({ what: path, present: existsSync(path), debianPackage });

/**
 * Lets the test go on only where everything it needs is here. On a developer's machine a test
 * that lacks something skips itself, saying what to install; in CI (CI=true) it fails with the
 * packages .ci/run must install, since a skipped test there would hide exactly that gap.
 */
export function requireTools(context: Mocha.Context, needs: readonly Need[]): void {
  const missing = needs.filter((need) => !need.present);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((need) => need.debianPackage))].join(" ");
  const lacks = `this machine lacks ${missing.map((need) => `${need.what} (Debian package ${need.debianPackage})`).join(", ")}`;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`${lacks}: .ci/run must install ${packages}`);
  console.log(`      skipped: ${lacks}; install ${packages} (.ci/run does)`);
  context.skip();
}
