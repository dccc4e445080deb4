import { existsSync } from "node:fs";
import { findOnPath } from "../../server/executables";

/** Something a test needs from the machine, and how .ci/run provides it. */
export interface Need {
  readonly what: string;
  readonly present: boolean;
  /** What provides it: `Debian package xvfb`, or the step .ci/run takes. */
  readonly provider: string;
}

export const program = (command: string, debianPackage: string): Need => ({ what: command, present: findOnPath(command, process.env.PATH ?? "") !== undefined, provider: `Debian package ${debianPackage}` });

export const file = (path: string, debianPackage: string): Need => ({ what: path, present: existsSync(path), provider: `Debian package ${debianPackage}` });

/**
 * Lets the test go on only where everything it needs is here. On a developer's machine a test
 * that lacks something skips itself, saying what provides it; in CI (CI=true) it fails, naming
 * what .ci/run must provide, since a skipped test there would hide exactly that gap.
 */
export function requireTools(context: Mocha.Context, needs: readonly Need[]): void {
  const missing = needs.filter((need) => !need.present);
  if (missing.length === 0) return;
  const providers = [...new Set(missing.map((need) => need.provider))].join(", ");
  const lacks = `this machine lacks ${missing.map((need) => `${need.what} (${need.provider})`).join(", ")}`;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`${lacks}: .ci/run must provide ${providers}`);
  console.log(`      skipped: ${lacks}; .ci/run provides ${providers}`);
  context.skip();
}
