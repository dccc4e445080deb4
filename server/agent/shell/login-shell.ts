import { existsSync } from "node:fs";
import { userInfo } from "node:os";

/** The agent user's login shell: its passwd entry, else $SHELL, else bash, else sh. */
export function loginShell(env: Readonly<Record<string, string | undefined>>): string {
  let fromPasswd: string | null | undefined;
  try {
    fromPasswd = userInfo().shell;
  } catch {
    // A uid with no passwd entry (a container's arbitrary user) still gets a shell.
    fromPasswd = undefined;
  }
  const candidates = [fromPasswd, env.SHELL, "/bin/bash", "/bin/sh"];
  return candidates.find((s): s is string => typeof s === "string" && s !== "" && !s.endsWith("/nologin") && existsSync(s)) ?? "/bin/sh";
}
