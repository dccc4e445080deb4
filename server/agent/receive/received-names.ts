import { extname } from "node:path";
import { agentError } from "../reasons";
import { checkLength, checkNoNul } from "../paths";

/**
 * A sender's file name as path components under the receive directory. Sanitised rather than
 * refused, since a sender names files after its own: backslashes separate components, empty,
 * `.` and `..` components are dropped (so nothing climbs out, and an absolute name becomes
 * relative), control characters become `_`. Refused only when nothing is left, or a component
 * or the whole is longer than the kernel takes.
 */
export function sanitisedName(filename: string): string[] {
  checkNoNul(filename, "the file name");
  const parts = filename
    .replace(/\\/g, "/")
    .split("/")
    .map((part) => part.replace(/\p{Cc}/gu, "_"))
    .filter((part) => part.trim() !== "" && part !== "." && part !== "..");
  const shown = JSON.stringify(filename.slice(0, 200));
  if (parts.length === 0) throw agentError("invalid_argument", `the file name ${shown} names no file once sanitised (no climbing out, no empty names)`);
  for (const part of parts) checkLength(part, `the name ${JSON.stringify(part.slice(0, 200))}`, true);
  checkLength(parts.join("/"), `the file name ${shown}`);
  return parts;
}

/** `name`, then `name (1).ext`, `name (2).ext`...: the n-th candidate for a name that is taken. */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  // extname takes a leading dot for a hidden name, not an extension: `.env (1)`.
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)} (${n})${ext}`;
}

/** A mode from octal text (`644`, `0755`, `0o600`): permission bits only, never setuid, setgid or sticky. */
export function parseMode(permissions: string | undefined, fallback: number): number {
  if (permissions === undefined || permissions === "") return fallback;
  const digits = /^(?:0o?)?([0-7]{1,4})$/i.exec(permissions.trim())?.[1];
  if (digits === undefined) throw agentError("invalid_argument", `permissions ${JSON.stringify(permissions.slice(0, 40))} are not an octal mode such as 644 or 0755`);
  return Number.parseInt(digits, 8) & 0o777;
}
