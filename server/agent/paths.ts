import { agentError } from "./reasons";
import { isAbsolute, join, resolve } from "node:path";

/**
 * Refuses a NUL byte, which the kernel cannot take in a path, an argument or the environment:
 * a clear invalid_argument here instead of Node's TypeError deep inside a file or spawn call.
 */
export function checkNoNul(value: string, what: string): void {
  if (value.includes("\u0000")) throw agentError("invalid_argument", `${what} contains a NUL byte, which no path, argument or variable can hold`);
}

/** The kernel's PATH_MAX, its NUL included: no longer path names a file. */
const MAX_PATH_BYTES = 4095;
/** NAME_MAX: no longer name is a file in a directory. */
const MAX_NAME_BYTES = 255;

/**
 * Refuses a value longer than any path (or, with `name`, any file name) the kernel takes: a clear
 * invalid_argument at once, instead of a search of every PATH directory, or a file system error
 * that echoes the whole value.
 */
export function checkLength(value: string, what: string, name = false): void {
  const max = name ? MAX_NAME_BYTES : MAX_PATH_BYTES;
  const bytes = Buffer.byteLength(value);
  if (bytes > max) throw agentError("invalid_argument", `${what} is ${bytes} bytes long; no ${name ? "file name" : "path"} can be longer than ${max}`);
}

/** `~` and `~/x` in the agent user's home; a relative path is taken from the home too. */
export function guestPath(path: string, home: string): string {
  checkLength(path, "the path");
  checkNoNul(path, `the path ${JSON.stringify(path.slice(0, 200))}`);
  if (path === "~") return home;
  if (path.startsWith("~/")) return join(home, path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(home, path);
}
