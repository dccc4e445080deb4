import { parseDuration } from "./documents";
import type { HealthPlan, MountPlan, PortPlan, RestartPlan, SecretPlan, ServicePlan } from "./plan";

/** A validated `vibe.yaml` (kind `vibe.app/v1`). */
export interface Manifest {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly icon?: string;
  readonly runtime: { readonly mode: "native" | "compose"; readonly composeFile?: string };
  /** Native mode's services, as written (not yet in start order). */
  readonly services: readonly ServicePlan[];
  readonly state: {
    readonly autosave: boolean;
    readonly autosaveDebounceSeconds: number;
    readonly maxSnapshots: number;
    readonly volumes: readonly { readonly name: string; readonly consistency: "sqlite" | "postgres" | "generic" }[];
  };
  readonly security: { readonly network: boolean; readonly allowHostFileImport: boolean };
  readonly secrets: readonly SecretPlan[];
  readonly publisher?: { readonly name: string; readonly signing?: { readonly scheme: "ed25519"; readonly signatureFile: string; readonly publicKeyFile: string } };
}

export const APP_ID = /^[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*)+$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Problems = string[];
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A relative path that stays inside the package: not absolute, no `..` segment. */
export function isContainedPath(path: string): boolean {
  return path !== "" && !path.startsWith("/") && !path.split(/[\\/]/).includes("..") && !path.includes("\0");
}

/** Reads a manifest document; every problem found is listed, not just the first. */
export function parseManifest(document: unknown): { manifest: Manifest } | { problems: Problems } {
  const problems: Problems = [];
  if (!isObj(document)) return { problems: ["the manifest must be a mapping (kind, id, name, version, runtime...)"] };
  const str = (value: unknown, where: string, required = true): string | undefined => {
    if (value === undefined || value === null) {
      if (required) problems.push(`${where}: is required`);
      return undefined;
    }
    if (typeof value !== "string" || value === "") {
      problems.push(`${where}: must be a non-empty string`);
      return undefined;
    }
    return value;
  };
  const bool = (value: unknown, where: string, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") problems.push(`${where}: must be true or false`);
    return value === true;
  };
  const int = (value: unknown, where: string, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${where}: must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const relative = (value: unknown, where: string, required = false): string | undefined => {
    const path = str(value, where, required);
    if (path !== undefined && !isContainedPath(path)) problems.push(`${where}: "${path}" must be a relative path inside the package, without ..`);
    return path;
  };

  if (document.kind !== "vibe.app/v1") problems.push(`kind: must be vibe.app/v1${document.kind === undefined ? "" : `, not ${JSON.stringify(document.kind)}`}`);
  const id = str(document.id, "id");
  if (id !== undefined && !APP_ID.test(id)) problems.push(`id: "${id}" must be reverse-domain, like com.example.app`);
  const name = str(document.name, "name");
  const version = str(document.version, "version");
  if (version !== undefined && !SEMVER.test(version)) problems.push(`version: "${version}" must be a semantic version, like 1.2.3`);
  const icon = relative(document.icon, "icon");

  const runtime = isObj(document.runtime) ? document.runtime : {};
  if (!isObj(document.runtime)) problems.push("runtime: is required, with mode native or compose");
  const mode = runtime.mode;
  if (mode !== "native" && mode !== "compose") problems.push(`runtime.mode: must be native or compose${mode === undefined ? "" : `, not ${JSON.stringify(mode)}`}`);
  const composeFile = relative(runtime.composeFile, "runtime.composeFile");

  const state = isObj(document.state) ? document.state : {};
  if (document.state !== undefined && !isObj(document.state)) problems.push("state: must be a mapping");
  const retention = isObj(state.retention) ? state.retention : {};
  const volumes: Manifest["state"]["volumes"][number][] = [];
  if (state.volumes !== undefined && !Array.isArray(state.volumes)) problems.push("state.volumes: must be a list");
  for (const [i, volume] of (Array.isArray(state.volumes) ? state.volumes : []).entries()) {
    const where = `state.volumes[${i}]`;
    if (!isObj(volume)) {
      problems.push(`${where}: must be a mapping with name and consistency`);
      continue;
    }
    const volumeName = str(volume.name, `${where}.name`);
    if (volumeName !== undefined && !VOLUME_NAME.test(volumeName)) problems.push(`${where}.name: "${volumeName}" is not a volume name`);
    const consistency = volume.consistency ?? "generic";
    if (consistency !== "sqlite" && consistency !== "postgres" && consistency !== "generic") problems.push(`${where}.consistency: must be sqlite, postgres or generic`);
    if (volumeName !== undefined && volumes.some((v) => v.name === volumeName)) problems.push(`${where}.name: "${volumeName}" is declared twice`);
    if (volumeName !== undefined) volumes.push({ name: volumeName, consistency: consistency as "sqlite" });
  }
  const declared = new Set(volumes.map((v) => v.name));

  const security = isObj(document.security) ? document.security : {};
  const secrets: SecretPlan[] = [];
  for (const [i, secret] of (Array.isArray(document.secrets) ? document.secrets : []).entries()) {
    const secretName = isObj(secret) ? str(secret.name, `secrets[${i}].name`) : undefined;
    if (!isObj(secret)) problems.push(`secrets[${i}]: must be a mapping with name and required`);
    else if (secretName !== undefined && !ENV_NAME.test(secretName)) problems.push(`secrets[${i}].name: "${secretName}" must be an environment variable name`);
    else if (secretName !== undefined) secrets.push({ name: secretName, required: bool(secret.required, `secrets[${i}].required`, false) });
  }
  if (document.secrets !== undefined && !Array.isArray(document.secrets)) problems.push("secrets: must be a list");

  let publisher: Manifest["publisher"];
  if (document.publisher !== undefined) {
    if (!isObj(document.publisher)) problems.push("publisher: must be a mapping");
    else {
      const publisherName = str(document.publisher.name, "publisher.name") ?? "";
      const signing = document.publisher.signing;
      if (signing !== undefined && !isObj(signing)) problems.push("publisher.signing: must be a mapping");
      if (isObj(signing)) {
        if (signing.scheme !== "ed25519") problems.push("publisher.signing.scheme: must be ed25519");
        const signatureFile = relative(signing.signatureFile, "publisher.signing.signatureFile", true) ?? "";
        const publicKeyFile = relative(signing.publicKeyFile, "publisher.signing.publicKeyFile", true) ?? "";
        publisher = { name: publisherName, signing: { scheme: "ed25519", signatureFile, publicKeyFile } };
      } else {
        publisher = { name: publisherName };
      }
    }
  }

  const services: ServicePlan[] = [];
  if (mode === "native") {
    if (!Array.isArray(document.services) || document.services.length === 0) problems.push("services: native mode needs a list of services");
    for (const [i, service] of (Array.isArray(document.services) ? document.services : []).entries()) {
      const parsed = nativeService(service, `services[${i}]`, problems, declared);
      if (parsed) {
        if (services.some((s) => s.name === parsed.name)) problems.push(`services[${i}].name: "${parsed.name}" is used twice`);
        services.push(parsed);
      }
    }
    const names = new Set(services.map((s) => s.name));
    for (const service of services) {
      for (const dependency of service.dependsOn) {
        if (!names.has(dependency.service)) problems.push(`services.${service.name}.dependsOn: no service "${dependency.service}"`);
      }
    }
  } else if (mode === "compose" && document.services !== undefined) {
    problems.push("services: compose mode takes its services from the compose file; remove services from the manifest");
  }

  const stateSettings = {
    autosave: bool(state.autosave, "state.autosave", false),
    autosaveDebounceSeconds: int(state.autosaveDebounceSeconds, "state.autosaveDebounceSeconds", 30, 1, 86_400),
    maxSnapshots: int(retention.maxSnapshots, "state.retention.maxSnapshots", 100, 1, 100_000),
    volumes,
  };
  const securitySettings = { network: bool(security.network, "security.network", false), allowHostFileImport: bool(security.allowHostFileImport, "security.allowHostFileImport", false) };

  if (problems.length > 0 || id === undefined || name === undefined || version === undefined || (mode !== "native" && mode !== "compose")) {
    return { problems: problems.length > 0 ? problems : ["the manifest is incomplete"] };
  }
  return {
    manifest: {
      id,
      name,
      version,
      ...(icon === undefined ? {} : { icon }),
      runtime: composeFile === undefined ? { mode } : { mode, composeFile },
      services,
      state: stateSettings,
      security: securitySettings,
      secrets,
      ...(publisher ? { publisher } : {}),
    },
  };
}

function nativeService(value: unknown, where: string, problems: Problems, volumes: ReadonlySet<string>): ServicePlan | undefined {
  if (!isObj(value)) {
    problems.push(`${where}: must be a mapping`);
    return undefined;
  }
  const name = typeof value.name === "string" ? value.name : "";
  if (!SERVICE_NAME.test(name)) problems.push(`${where}.name: ${JSON.stringify(value.name)} is not a service name`);
  const at = name ? `services.${name}` : where;
  const strings = (list: unknown, field: string): string[] => {
    if (list === undefined) return [];
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) {
      problems.push(`${at}.${field}: must be a list of strings`);
      return [];
    }
    return list;
  };
  const environment: Record<string, string> = {};
  if (value.env !== undefined) {
    if (!isObj(value.env)) problems.push(`${at}.env: must be a mapping of names to values`);
    else
      for (const [key, v] of Object.entries(value.env)) {
        if (!ENV_NAME.test(key)) problems.push(`${at}.env: "${key}" is not an environment variable name`);
        else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") environment[key] = String(v);
        else problems.push(`${at}.env.${key}: must be a string, number or boolean`);
      }
  }
  const ports: PortPlan[] = [];
  for (const [i, port] of (Array.isArray(value.ports) ? value.ports : []).entries()) {
    if (!isObj(port)) {
      problems.push(`${at}.ports[${i}]: must be a mapping with container`);
      continue;
    }
    const container = port.container;
    if (typeof container !== "number" || !Number.isInteger(container) || container < 1 || container > 65535) {
      problems.push(`${at}.ports[${i}].container: must be a port from 1 to 65535`);
      continue;
    }
    const exposure = port.hostExposure ?? "auto";
    if (exposure !== "auto" && exposure !== "none") problems.push(`${at}.ports[${i}].hostExposure: must be auto or none`);
    const host = port.host;
    if (host !== undefined && (typeof host !== "number" || !Number.isInteger(host) || host < 1 || host > 65535)) problems.push(`${at}.ports[${i}].host: must be a port from 1 to 65535`);
    const protocol = port.protocol ?? "tcp";
    if (protocol !== "tcp" && protocol !== "udp") problems.push(`${at}.ports[${i}].protocol: must be tcp or udp`);
    ports.push({ containerPort: container, protocol: protocol as "tcp", exposure: exposure as "auto", ...(typeof host === "number" ? { hostPort: host } : {}) });
  }
  if (value.ports !== undefined && !Array.isArray(value.ports)) problems.push(`${at}.ports: must be a list`);
  const mounts: MountPlan[] = [];
  for (const [i, mount] of (Array.isArray(value.mounts) ? value.mounts : []).entries()) {
    const source = isObj(mount) && typeof mount.source === "string" ? mount.source : "";
    const target = isObj(mount) && typeof mount.target === "string" ? mount.target : "";
    const match = /^state:(.+)$/.exec(source);
    if (!match?.[1]) problems.push(`${at}.mounts[${i}].source: must be state:<volume>`);
    else if (!volumes.has(match[1])) problems.push(`${at}.mounts[${i}]: volume "${match[1]}" is not declared in state.volumes`);
    if (!target.startsWith("/") || target.split("/").includes("..")) problems.push(`${at}.mounts[${i}].target: must be an absolute path without ..`);
    if (match?.[1]) mounts.push({ kind: "volume", source: match[1], target, readOnly: isObj(mount) && mount.readOnly === true });
  }
  for (const [i, spec] of strings(value.stateVolumes, "stateVolumes").entries()) {
    const [volume = "", target = ""] = spec.split(/:(.*)/s);
    if (!volumes.has(volume)) problems.push(`${at}.stateVolumes[${i}]: volume "${volume}" is not declared in state.volumes`);
    if (!target.startsWith("/") || target.split("/").includes("..")) problems.push(`${at}.stateVolumes[${i}]: "${spec}" must be name:/absolute/path`);
    mounts.push({ kind: "volume", source: volume, target, readOnly: false });
  }
  const healthcheck = value.healthcheck === undefined ? undefined : healthPlan(value.healthcheck, `${at}.healthcheck`, problems);
  const restart = restartPlan(value.restart, `${at}.restart`, problems);
  return {
    name,
    ...(typeof value.image === "string" ? { image: value.image } : {}),
    entrypoint: [],
    command: strings(value.command, "command"),
    environment,
    ports,
    mounts,
    // A dependency with a healthcheck is waited for until healthy (see buildPlan).
    dependsOn: strings(value.dependsOn, "dependsOn").map((service) => ({ service, condition: "service_started", required: true })),
    ...(healthcheck ? { healthcheck } : {}),
    restart,
    stopSignal: typeof value.stopSignal === "string" ? value.stopSignal : "SIGTERM",
  };
}

/** A compose-style healthcheck: `test` as CMD / CMD-SHELL list or a shell string, and its timings. */
export function healthPlan(value: unknown, where: string, problems: Problems): HealthPlan | undefined {
  if (!isObj(value)) {
    problems.push(`${where}: must be a mapping`);
    return undefined;
  }
  if (value.disable === true) return undefined;
  let test: string[] | undefined;
  const raw = value.test;
  if (typeof raw === "string") test = ["/bin/sh", "-c", raw];
  else if (Array.isArray(raw) && raw.every((x) => typeof x === "string")) {
    const [kind, ...rest] = raw;
    if (kind === "NONE") return undefined;
    if (kind === "CMD" && rest.length > 0) test = rest;
    else if (kind === "CMD-SHELL" && rest.length === 1) test = ["/bin/sh", "-c", rest[0] ?? ""];
  }
  if (!test) {
    problems.push(`${where}.test: must be ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"] or a shell line`);
    return undefined;
  }
  const duration = (field: string, fallback: number): number => {
    if (value[field] === undefined) return fallback;
    const ms = parseDuration(value[field]);
    if (ms === undefined) problems.push(`${where}.${field}: ${JSON.stringify(value[field])} is not a duration like 10s or 1m30s`);
    return ms ?? fallback;
  };
  const retries = value.retries ?? 3;
  if (typeof retries !== "number" || !Number.isInteger(retries) || retries < 1 || retries > 1000) problems.push(`${where}.retries: must be a whole number from 1 to 1000`);
  return {
    test,
    intervalMs: duration("interval", 30_000),
    timeoutMs: duration("timeout", 30_000),
    retries: typeof retries === "number" ? retries : 3,
    startPeriodMs: duration("start_period", 0),
  };
}

/** `no`, `always`, `on-failure[:max]`, `unless-stopped`. */
export function restartPlan(value: unknown, where: string, problems: Problems): RestartPlan {
  if (value === undefined || value === "no" || value === false) return { policy: "no" };
  if (value === "always" || value === "unless-stopped") return { policy: value };
  if (typeof value === "string") {
    const match = /^on-failure(?::(\d+))?$/.exec(value);
    if (match) return match[1] === undefined ? { policy: "on-failure" } : { policy: "on-failure", maxRetries: Number(match[1]) };
  }
  problems.push(`${where}: must be no, always, on-failure[:max] or unless-stopped`);
  return { policy: "no" };
}
