import { isMapping, type Mapping } from "./documents";
import type { ComposeReport } from "./compose-report";
import { parseEnvFile } from "./env-file";
import { isContainedPath } from "./manifest";

/** Reads a file of the package (for env_file); undefined when there is no package (validation) or no such file. */
export type PackageReader = (relative: string) => string | undefined;

type Setter = (key: string, value: string | undefined, where: string) => void;

/**
 * A service's environment: its env_files first, then `environment`, which wins. Values keep
 * their `${VAR}` references for the start, when secrets and ghostd's variables fill them; a
 * name without a value becomes `${NAME}`, taken from the secrets.
 */
export function environmentOf(definition: Mapping, at: string, readPackageFile: PackageReader | undefined, report: ComposeReport): Record<string, string> {
  const environment: Record<string, string> = {};
  const set: Setter = (key, value, where) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) report.errors.push(`${where}: "${key}" is not an environment variable name`);
    else environment[key] = value ?? `\${${key}}`;
  };
  const files = definition.env_file === undefined ? [] : Array.isArray(definition.env_file) ? definition.env_file : [definition.env_file];
  for (const [i, entry] of files.entries()) {
    const content = envFileContent(entry, `${at}.env_file`, i, readPackageFile, report);
    const format = isMapping(entry) && entry.format === "raw" ? "raw" : "compose";
    // A single-quoted (or raw) value is literal: its `$` must survive the interpolation at start.
    for (const { key, value, literal } of parseEnvFile(content ?? "", format)) set(key, literal ? value?.replaceAll("$", () => "$$") : value, `${at}.env_file`);
  }
  environmentField(definition.environment, `${at}.environment`, report, set);
  return environment;
}

/** `environment:` as a list of `KEY=value` (or bare `KEY`) or a mapping; each entry goes to `set`. */
function environmentField(value: unknown, where: string, report: ComposeReport, set: Setter): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== "string") {
        report.errors.push(`${where}: list entries must be strings like KEY=value`);
        continue;
      }
      const eq = item.indexOf("=");
      set(eq < 0 ? item : item.slice(0, eq), eq < 0 ? undefined : item.slice(eq + 1), where);
    }
  } else if (isMapping(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item === null || item === undefined) set(key, undefined, where);
      else if (typeof item === "string" || typeof item === "number" || typeof item === "boolean") set(key, String(item), where);
      else report.errors.push(`${where}.${key}: must be a string, number or boolean`);
    }
  } else {
    report.errors.push(`${where}: must be a mapping or a list`);
  }
}

/** One env_file entry's text; undefined when it cannot be read now (and the report says why, if it matters). */
function envFileContent(entry: unknown, where: string, i: number, readPackageFile: PackageReader | undefined, report: ComposeReport): string | undefined {
  const path = typeof entry === "string" ? entry : isMapping(entry) && typeof entry.path === "string" ? entry.path : undefined;
  const required = !(isMapping(entry) && (entry.required === false || entry.required === "false"));
  if (path === undefined || !isContainedPath(path.replace(/^\.\//, ""))) {
    report.errors.push(`${where}[${i}]: must be a relative path inside the package`);
    return undefined;
  }
  if (!readPackageFile) {
    report.warnings.push(`${where}: ${path} is read from the package when the project is imported`);
    return undefined;
  }
  const content = readPackageFile(path.replace(/^\.\//, ""));
  if (content === undefined && required) report.errors.push(`${where}: ${path} does not exist in the package`);
  return content;
}
