import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** An application's XDG desktop entry; its id (the file id without `.desktop`) is the bundle id. */
export interface DesktopEntry {
  readonly id: string;
  readonly file: string;
  readonly name: string;
  readonly exec: string;
  readonly icon: string | undefined;
}

/** `$XDG_DATA_HOME` (or ~/.local/share), then `$XDG_DATA_DIRS` (or /usr/local/share:/usr/share). */
export function dataDirs(env: Readonly<Record<string, string | undefined>>, home: string): string[] {
  const user = env.XDG_DATA_HOME || join(home, ".local", "share");
  const system = (env.XDG_DATA_DIRS || "/usr/local/share:/usr/share").split(":").filter(Boolean);
  return [user, ...system];
}

/** The entry with this id, from the first data directory that has one. */
export function findEntry(id: string, dirs: readonly string[]): DesktopEntry | undefined {
  for (const dir of dirs) {
    const applications = join(dir, "applications");
    const direct = join(applications, `${id}.desktop`);
    const file = existsSync(direct) ? direct : scan(applications).find((f) => fileId(applications, f) === id);
    if (!file) continue;
    const entry = parseEntry(id, file, readFileSync(file, "utf8"));
    if (entry) return entry;
  }
  return undefined;
}

/** The desktop file id: its path under applications/, `/` turned to `-`, without `.desktop`. */
function fileId(applications: string, file: string): string {
  return relative(applications, file).replaceAll("/", "-").replace(/\.desktop$/, "");
}

function scan(dir: string, depth = 0): string[] {
  if (depth > 4 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      if (statSync(path).isDirectory()) out.push(...scan(path, depth + 1));
      else if (name.endsWith(".desktop")) out.push(path);
    } catch {
      // A dangling link: not an entry.
    }
  }
  return out;
}

/** The [Desktop Entry] group of an application that is not hidden; undefined otherwise. */
export function parseEntry(id: string, file: string, text: string): DesktopEntry | undefined {
  const keys = new Map<string, string>();
  let inGroup = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      inGroup = line === "[Desktop Entry]";
      continue;
    }
    if (!inGroup || line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq > 0) keys.set(line.slice(0, eq).trim(), unescapeValue(line.slice(eq + 1).trim()));
  }
  const exec = keys.get("Exec");
  if ((keys.get("Type") ?? "Application") !== "Application" || !exec || keys.get("Hidden") === "true") return undefined;
  return { id, file, name: keys.get("Name") ?? id, exec, icon: keys.get("Icon") };
}

function unescapeValue(value: string): string {
  return value.replace(/\\([sntr\\;])/g, (_, c: string) => ({ s: " ", n: "\n", t: "\t", r: "\r", "\\": "\\", ";": ";" })[c] ?? c);
}

/**
 * The command line of an Exec key, split into arguments (double quotes, with \" \` \$ \\ inside)
 * and its field codes expanded: %f %u one file, %F %U all of them, %i the icon, %c the name,
 * %k the entry's file, %% a percent sign; deprecated codes vanish.
 */
export function execArguments(entry: DesktopEntry, files: readonly string[]): string[] {
  const args: string[] = [];
  for (const token of splitExec(entry.exec)) {
    if (token === "%F" || token === "%U") {
      args.push(...files);
      continue;
    }
    if ((token === "%f" || token === "%u") && files.length > 0) {
      args.push(files[0] ?? "");
      continue;
    }
    if (token === "%i") {
      if (entry.icon) args.push("--icon", entry.icon);
      continue;
    }
    const expanded = token.replace(/%(.)/g, (_, code: string) => {
      switch (code) {
        case "%":
          return "%";
        case "c":
          return entry.name;
        case "k":
          return entry.file;
        default:
          return "";
      }
    });
    if (expanded !== "" || token === "") args.push(expanded);
  }
  return args;
}

function splitExec(exec: string): string[] {
  const tokens: string[] = [];
  let current = "";
  let quoted = false;
  let started = false;
  for (let i = 0; i < exec.length; i++) {
    const ch = exec.charAt(i);
    if (quoted) {
      if (ch === "\\" && i + 1 < exec.length) current += exec.charAt(++i);
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') {
      quoted = true;
      started = true;
    } else if (ch === " " || ch === "\t") {
      if (started) tokens.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) tokens.push(current);
  return tokens;
}
