import type { ServiceError } from "./compose-report";
import { isMapping, type Mapping } from "./documents";
import { isContainedPath } from "./manifest";
import type { BuildPlan, PullPolicy, ServicePlan } from "./plan";

type ContainerSettings = Pick<ServicePlan, "labels" | "init" | "readOnly" | "pullPolicy" | "aliases" | "imageBuild">;

const PULL_POLICIES: Record<string, PullPolicy> = { missing: "missing", if_not_present: "missing", always: "always", never: "never", build: "build" };

/**
 * The fields only a container runtime honours: labels, init, read_only, pull_policy and the
 * network aliases. Kept in the plan whatever runtime runs the service; the process runtime
 * warns of those it cannot do.
 */
export function containerSettingsOf(definition: Mapping, error: ServiceError): ContainerSettings {
  const labels = labelsOf(definition.labels, error);
  const init = flag(definition, "init", error);
  const readOnly = flag(definition, "read_only", error);
  const pullPolicy = pullPolicyOf(definition.pull_policy, error);
  const aliases = aliasesOf(definition.networks, error);
  const imageBuild = buildOf(definition.build, error);
  return {
    ...(imageBuild === undefined ? {} : { imageBuild }),
    ...(labels === undefined ? {} : { labels }),
    ...(init === undefined ? {} : { init }),
    ...(readOnly === undefined ? {} : { readOnly }),
    ...(pullPolicy === undefined ? {} : { pullPolicy }),
    ...(aliases.length === 0 ? {} : { aliases }),
  };
}

/** `labels` as a mapping or a `key=value` list; a `ghostd.` label is ghostd's own, so refused. */
function labelsOf(value: unknown, error: ServiceError, field = "labels"): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const labels: Record<string, string> = {};
  if (isMapping(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (v === null || v === undefined) labels[key] = "";
      else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") labels[key] = String(v);
      else error(`${field}.${key}: must be a string`);
    }
  } else if (Array.isArray(value)) {
    for (const entry of value) {
      const text = String(entry);
      const at = text.indexOf("=");
      labels[at < 0 ? text : text.slice(0, at)] = at < 0 ? "" : text.slice(at + 1);
    }
  } else {
    error(`${field}: must be a mapping or a list`);
    return undefined;
  }
  const own = Object.keys(labels).filter((key) => key.startsWith("ghostd."));
  if (field === "labels" && own.length > 0) error(`labels: ${own.join(", ")}: labels under ghostd. are ghostd's own`);
  return labels;
}

function flag(definition: Mapping, field: string, error: ServiceError): boolean | undefined {
  const value = definition[field];
  if (value === undefined) return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  error(`${field}: must be true or false`);
  return undefined;
}

function pullPolicyOf(value: unknown, error: ServiceError): PullPolicy | undefined {
  if (value === undefined) return undefined;
  const policy = typeof value === "string" && Object.hasOwn(PULL_POLICIES, value) ? PULL_POLICIES[value] : undefined;
  if (policy === undefined) error(`pull_policy: must be missing, always, never or build, not ${JSON.stringify(value)}`);
  return policy;
}

/** Every alias the service's networks give it: they collapse into one project network, and so do their aliases. */
function aliasesOf(value: unknown, error: ServiceError): string[] {
  if (!isMapping(value)) return [];
  const aliases = new Set<string>();
  for (const [network, options] of Object.entries(value)) {
    if (!isMapping(options) || options.aliases === undefined) continue;
    const list = options.aliases;
    if (!Array.isArray(list) || !list.every((a) => typeof a === "string" && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(a))) {
      error(`networks.${network}.aliases: must be a list of host names`);
      continue;
    }
    for (const alias of list as string[]) aliases.add(alias);
  }
  return [...aliases];
}

/** `build:` as a context path, or a mapping of context, dockerfile, args and target; the context stays inside the package. */
function buildOf(value: unknown, error: ServiceError): BuildPlan | undefined {
  if (value === undefined) return undefined;
  const options: Mapping = typeof value === "string" ? { context: value } : isMapping(value) ? value : {};
  if (typeof value !== "string" && !isMapping(value)) error("build: must be a context path or a mapping");
  const context = relativeInPackage(options.context ?? ".", "build.context", error);
  const dockerfile = options.dockerfile === undefined ? undefined : relativeInPackage(options.dockerfile, "build.dockerfile", error);
  if (options.target !== undefined && typeof options.target !== "string") error("build.target: must be a string");
  const args = labelsOf(options.args, error, "build.args") ?? {};
  if (context === undefined) return undefined;
  return { context, args, ...(dockerfile === undefined ? {} : { dockerfile }), ...(typeof options.target === "string" ? { target: options.target } : {}) };
}

function relativeInPackage(value: unknown, field: string, error: ServiceError): string | undefined {
  // Only a leading "./" goes: "../x" must stay as written for the check to refuse it.
  const path = typeof value === "string" ? value.replace(/^(\.\/)+/, "").replace(/\/+$/, "") || "." : undefined;
  if (path === undefined || (path !== "." && !isContainedPath(path))) {
    error(`${field}: must be a relative path inside the package, without ..`);
    return undefined;
  }
  return path;
}
