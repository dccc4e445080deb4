import type { ServiceError } from "./compose-report";
import { isMapping, type Mapping } from "./documents";
import type { PullPolicy, ServicePlan } from "./plan";

type ContainerSettings = Pick<ServicePlan, "labels" | "init" | "readOnly" | "pullPolicy" | "aliases">;

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
  return {
    ...(labels === undefined ? {} : { labels }),
    ...(init === undefined ? {} : { init }),
    ...(readOnly === undefined ? {} : { readOnly }),
    ...(pullPolicy === undefined ? {} : { pullPolicy }),
    ...(aliases.length === 0 ? {} : { aliases }),
  };
}

/** `labels` as a mapping or a `key=value` list; a `ghostd.` label is ghostd's own, so refused. */
function labelsOf(value: unknown, error: ServiceError): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const labels: Record<string, string> = {};
  if (isMapping(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (v === null || v === undefined) labels[key] = "";
      else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") labels[key] = String(v);
      else error(`labels.${key}: must be a string`);
    }
  } else if (Array.isArray(value)) {
    for (const entry of value) {
      const text = String(entry);
      const at = text.indexOf("=");
      labels[at < 0 ? text : text.slice(0, at)] = at < 0 ? "" : text.slice(at + 1);
    }
  } else {
    error("labels: must be a mapping or a list");
    return undefined;
  }
  const own = Object.keys(labels).filter((key) => key.startsWith("ghostd."));
  if (own.length > 0) error(`labels: ${own.join(", ")}: labels under ghostd. are ghostd's own`);
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
