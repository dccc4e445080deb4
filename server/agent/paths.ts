import { agentError } from "./reasons";
import { isAbsolute, join, resolve } from "node:path";

/**
 * Refuses a NUL byte, which the kernel cannot take in a path, an argument or the environment:
 * a clear invalid_argument here instead of Node's TypeError deep inside a file or spawn call.
 */
export function checkNoNul(value: string, what: string): void {
  if (value.includes("\u0000")) throw agentError("invalid_argument", `${what} contains a NUL byte, which no path, argument or variable can hold`);
}

/** `~` and `~/x` in the agent user's home; a relative path is taken from the home too. */
export function guestPath(path: string, home: string): string {
  checkNoNul(path, `the path ${JSON.stringify(path.slice(0, 200))}`);
  if (path === "~") return home;
  if (path.startsWith("~/")) return join(home, path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(home, path);
}
