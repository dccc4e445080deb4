import { basename, dirname } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment of the user who started the daemon, without what npm adds when the daemon runs
 * under `npm start`: commands, shells and services are the user's, and npm's variables (its
 * config, the package's paths, `node_modules/.bin` first on PATH) would change what they find and
 * do. Outside npm the environment is returned as it is.
 */
export function userEnvironment(env: Env): Record<string, string> {
  const underNpm = env.npm_lifecycle_event !== undefined || env.npm_execpath !== undefined;
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && !(underNpm && /^npm_/i.test(key))) clean[key] = value;
  if (!underNpm) return clean;
  delete clean.INIT_CWD;
  // npm sets COLOR always, and NODE to its own node; EDITOR it only fills in when the user had
  // none, which cannot be told apart from the user's own, so it stays.
  delete clean.COLOR;
  if (env.NODE !== undefined && env.NODE === env.npm_node_execpath) delete clean.NODE;
  if (clean.PATH !== undefined) clean.PATH = withoutNpmPath(clean.PATH);
  return clean;
}

/** PATH without the entries npm puts in front of it: each `<dir>/node_modules/.bin` and its node-gyp shim. */
function withoutNpmPath(path: string): string {
  const entries = path.split(":");
  let first = 0;
  while (first < entries.length && isNpmEntry(entries[first] ?? "")) first++;
  return entries.slice(first).join(":");
}

function isNpmEntry(entry: string): boolean {
  if (basename(entry) === ".bin" && basename(dirname(entry)) === "node_modules") return true;
  return entry.endsWith("/@npmcli/run-script/lib/node-gyp-bin");
}
