import { isAbsolute, join, resolve } from "node:path";

/** `~` and `~/x` in the agent user's home; a relative path is taken from the home too. */
export function guestPath(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return join(home, path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(home, path);
}
