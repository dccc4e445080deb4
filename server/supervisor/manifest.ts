import { isMapping, parseDuration, type Mapping } from "./documents";
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
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Problems = string[];

/** A relative path that stays inside the package: not absolute, no `..` segment. */
export function isContainedPath(path: string): boolean {
  return path !== "" && !path.startsWith("/") && !path.split(/[\\/]/).includes("..") && !path.includes("\0");
}

/** The file names a package's manifest may have, in the order they are looked for. */
export const MANIFEST_FILES: readonly string[] = ["vibe.yaml", "vibe.yml", "vibe.json"];

/**
 * Reads a document's fields, noting what is wrong with each (naming the field) and going on, so that
 * one pass lists every problem.
 */
class FieldReader {
  readonly problems: Problems = [];

  problem(text: string): void {
    this.problems.push(text);
  }

  string(value: unknown, where: string, required = true): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.problem(`${where}: is required`);
      return undefined;
    }
    if (typeof value !== "string" || value === "") {
      this.problem(`${where}: must be a non-empty string`);
      return undefined;
    }
    return value;
  }

  boolean(value: unknown, where: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") this.problem(`${where}: must be true or false`);
    return value === true;
  }

  wholeNumber(value: unknown, where: string, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.problem(`${where}: must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  relativePath(value: unknown, where: string, required = false): string | undefined {
    const path = this.string(value, where, required);
    if (path !== undefined && !isContainedPath(path)) this.problem(`${where}: "${path}" must be a relative path inside the package, without ..`);
    return path;
  }

  strings(list: unknown, where: string): string[] {
    if (list === undefined) return [];
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) {
      this.problem(`${where}: must be a list of strings`);
      return [];
    }
    return list;
  }
}

type Volume = Manifest["state"]["volumes"][number];

/** A path a mount may take inside a container: absolute, no `..` segment. */
export function isAbsoluteTarget(target: string): boolean {
  return target.startsWith("/") && !target.split("/").includes("..");
}

/** Reads a manifest document; every problem found is listed, not just the first. */
export function parseManifest(document: unknown): { manifest: Manifest } | { problems: Problems } {
  if (!isMapping(document)) return { problems: ["the manifest must be a mapping (kind, id, name, version, runtime...)"] };
  // Sections are read in the order their problems are listed in.
  const read = new FieldReader();
  const { id, name, version, icon } = identityOf(document, read);
  const { mode, composeFile } = runtimeOf(document.runtime, read);
  const state = isMapping(document.state) ? document.state : {};
  if (document.state !== undefined && !isMapping(document.state)) read.problem("state: must be a mapping");
  const volumes = volumesOf(state.volumes, read);
  const secrets = secretsOf(document.secrets, read);
  const publisher = document.publisher === undefined ? undefined : publisherOf(document.publisher, read);
  const services = servicesOf(document.services, mode, new Set(volumes.map((v) => v.name)), read);
  const stateSettings = stateSettingsOf(state, volumes, read);
  const securitySettings = securityOf(document.security, read);

  const { problems } = read;
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

/** kind, id, name, version and icon: what the app is. */
function identityOf(document: Mapping, read: FieldReader): { id?: string; name?: string; version?: string; icon?: string } {
  if (document.kind !== "vibe.app/v1") read.problem(`kind: must be vibe.app/v1${document.kind === undefined ? "" : `, not ${JSON.stringify(document.kind)}`}`);
  const id = read.string(document.id, "id");
  if (id !== undefined && !APP_ID.test(id)) read.problem(`id: "${id}" must be reverse-domain, like com.example.app`);
  const name = read.string(document.name, "name");
  const version = read.string(document.version, "version");
  if (version !== undefined && !SEMVER.test(version)) read.problem(`version: "${version}" must be a semantic version, like 1.2.3`);
  const icon = read.relativePath(document.icon, "icon");
  return { id, name, version, icon };
}

function runtimeOf(value: unknown, read: FieldReader): { mode: unknown; composeFile?: string } {
  const runtime = isMapping(value) ? value : {};
  if (!isMapping(value)) read.problem("runtime: is required, with mode native or compose");
  const mode = runtime.mode;
  if (mode !== "native" && mode !== "compose") read.problem(`runtime.mode: must be native or compose${mode === undefined ? "" : `, not ${JSON.stringify(mode)}`}`);
  return { mode, composeFile: read.relativePath(runtime.composeFile, "runtime.composeFile") };
}

function volumesOf(value: unknown, read: FieldReader): Volume[] {
  const volumes: Volume[] = [];
  if (value !== undefined && !Array.isArray(value)) read.problem("state.volumes: must be a list");
  for (const [i, volume] of (Array.isArray(value) ? value : []).entries()) {
    const where = `state.volumes[${i}]`;
    if (!isMapping(volume)) {
      read.problem(`${where}: must be a mapping with name and consistency`);
      continue;
    }
    const volumeName = read.string(volume.name, `${where}.name`);
    if (volumeName !== undefined && !VOLUME_NAME.test(volumeName)) read.problem(`${where}.name: "${volumeName}" is not a volume name`);
    const consistency = volume.consistency ?? "generic";
    if (consistency !== "sqlite" && consistency !== "postgres" && consistency !== "generic") read.problem(`${where}.consistency: must be sqlite, postgres or generic`);
    if (volumeName !== undefined && volumes.some((v) => v.name === volumeName)) read.problem(`${where}.name: "${volumeName}" is declared twice`);
    if (volumeName !== undefined) volumes.push({ name: volumeName, consistency: consistency as "sqlite" });
  }
  return volumes;
}

function secretsOf(value: unknown, read: FieldReader): SecretPlan[] {
  const secrets: SecretPlan[] = [];
  for (const [i, secret] of (Array.isArray(value) ? value : []).entries()) {
    const secretName = isMapping(secret) ? read.string(secret.name, `secrets[${i}].name`) : undefined;
    if (!isMapping(secret)) read.problem(`secrets[${i}]: must be a mapping with name and required`);
    else if (secretName !== undefined && !ENV_NAME.test(secretName)) read.problem(`secrets[${i}].name: "${secretName}" must be an environment variable name`);
    else if (secretName !== undefined) secrets.push({ name: secretName, required: read.boolean(secret.required, `secrets[${i}].required`, false) });
  }
  if (value !== undefined && !Array.isArray(value)) read.problem("secrets: must be a list");
  return secrets;
}

function publisherOf(value: unknown, read: FieldReader): Manifest["publisher"] {
  if (!isMapping(value)) {
    read.problem("publisher: must be a mapping");
    return undefined;
  }
  const name = read.string(value.name, "publisher.name") ?? "";
  const signing = value.signing;
  if (signing !== undefined && !isMapping(signing)) read.problem("publisher.signing: must be a mapping");
  if (!isMapping(signing)) return { name };
  if (signing.scheme !== "ed25519") read.problem("publisher.signing.scheme: must be ed25519");
  const signatureFile = read.relativePath(signing.signatureFile, "publisher.signing.signatureFile", true) ?? "";
  const publicKeyFile = read.relativePath(signing.publicKeyFile, "publisher.signing.publicKeyFile", true) ?? "";
  return { name, signing: { scheme: "ed25519", signatureFile, publicKeyFile } };
}

/** Native mode's services, each name once, each dependency one of them; compose mode takes none here. */
function servicesOf(value: unknown, mode: unknown, volumes: ReadonlySet<string>, read: FieldReader): ServicePlan[] {
  if (mode === "compose" && value !== undefined) {
    read.problem("services: compose mode takes its services from the compose file; remove services from the manifest");
  }
  if (mode !== "native") return [];
  if (!Array.isArray(value) || value.length === 0) read.problem("services: native mode needs a list of services");
  const services: ServicePlan[] = [];
  for (const [i, service] of (Array.isArray(value) ? value : []).entries()) {
    const parsed = nativeService(service, `services[${i}]`, read, volumes);
    if (!parsed) continue;
    if (services.some((s) => s.name === parsed.name)) read.problem(`services[${i}].name: "${parsed.name}" is used twice`);
    services.push(parsed);
  }
  const names = new Set(services.map((s) => s.name));
  for (const service of services) {
    for (const dependency of service.dependsOn) {
      if (!names.has(dependency.service)) read.problem(`services.${service.name}.dependsOn: no service "${dependency.service}"`);
    }
  }
  return services;
}

function stateSettingsOf(state: Mapping, volumes: readonly Volume[], read: FieldReader): Manifest["state"] {
  const retention = isMapping(state.retention) ? state.retention : {};
  return {
    autosave: read.boolean(state.autosave, "state.autosave", false),
    autosaveDebounceSeconds: read.wholeNumber(state.autosaveDebounceSeconds, "state.autosaveDebounceSeconds", 30, 1, 86_400),
    maxSnapshots: read.wholeNumber(retention.maxSnapshots, "state.retention.maxSnapshots", 100, 1, 100_000),
    volumes,
  };
}

function securityOf(value: unknown, read: FieldReader): Manifest["security"] {
  const security = isMapping(value) ? value : {};
  return {
    network: read.boolean(security.network, "security.network", false),
    allowHostFileImport: read.boolean(security.allowHostFileImport, "security.allowHostFileImport", false),
  };
}

function nativeService(value: unknown, where: string, read: FieldReader, volumes: ReadonlySet<string>): ServicePlan | undefined {
  if (!isMapping(value)) {
    read.problem(`${where}: must be a mapping`);
    return undefined;
  }
  const name = typeof value.name === "string" ? value.name : "";
  if (!SERVICE_NAME.test(name)) read.problem(`${where}.name: ${JSON.stringify(value.name)} is not a service name`);
  const at = name ? `services.${name}` : where;
  const environment = nativeEnvironment(value.env, at, read);
  const ports = nativePorts(value.ports, at, read);
  const mounts = [...nativeMounts(value.mounts, at, read, volumes), ...stateVolumeMounts(value.stateVolumes, at, read, volumes)];
  const healthcheck = value.healthcheck === undefined ? undefined : healthPlan(value.healthcheck, `${at}.healthcheck`, read.problems);
  const restart = restartPlan(value.restart, `${at}.restart`, read.problems);
  return {
    name,
    ...(typeof value.image === "string" ? { image: value.image } : {}),
    entrypoint: [],
    command: read.strings(value.command, `${at}.command`),
    environment,
    ports,
    mounts,
    // A dependency with a healthcheck is waited for until healthy (see buildPlan).
    dependsOn: read.strings(value.dependsOn, `${at}.dependsOn`).map((service) => ({ service, condition: "service_started", required: true })),
    ...(healthcheck ? { healthcheck } : {}),
    restart,
    stopSignal: typeof value.stopSignal === "string" ? value.stopSignal : "SIGTERM",
  };
}

function nativeEnvironment(value: unknown, at: string, read: FieldReader): Record<string, string> {
  const environment: Record<string, string> = {};
  if (value === undefined) return environment;
  if (!isMapping(value)) {
    read.problem(`${at}.env: must be a mapping of names to values`);
    return environment;
  }
  for (const [key, v] of Object.entries(value)) {
    if (!ENV_NAME.test(key)) read.problem(`${at}.env: "${key}" is not an environment variable name`);
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") environment[key] = String(v);
    else read.problem(`${at}.env.${key}: must be a string, number or boolean`);
  }
  return environment;
}

const isPort = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;

function nativePorts(value: unknown, at: string, read: FieldReader): PortPlan[] {
  const ports: PortPlan[] = [];
  for (const [i, port] of (Array.isArray(value) ? value : []).entries()) {
    const where = `${at}.ports[${i}]`;
    if (!isMapping(port)) {
      read.problem(`${where}: must be a mapping with container`);
      continue;
    }
    const container = port.container;
    if (!isPort(container)) {
      read.problem(`${where}.container: must be a port from 1 to 65535`);
      continue;
    }
    const exposure = port.hostExposure ?? "auto";
    if (exposure !== "auto" && exposure !== "none") read.problem(`${where}.hostExposure: must be auto or none`);
    const host = port.host;
    if (host !== undefined && !isPort(host)) read.problem(`${where}.host: must be a port from 1 to 65535`);
    const protocol = port.protocol ?? "tcp";
    if (protocol !== "tcp" && protocol !== "udp") read.problem(`${where}.protocol: must be tcp or udp`);
    ports.push({ containerPort: container, protocol: protocol as "tcp", exposure: exposure as "auto", ...(typeof host === "number" ? { hostPort: host } : {}) });
  }
  if (value !== undefined && !Array.isArray(value)) read.problem(`${at}.ports: must be a list`);
  return ports;
}


/** `mounts: [{source: state:<volume>, target, readOnly}]`. */
function nativeMounts(value: unknown, at: string, read: FieldReader, volumes: ReadonlySet<string>): MountPlan[] {
  const mounts: MountPlan[] = [];
  for (const [i, mount] of (Array.isArray(value) ? value : []).entries()) {
    const source = isMapping(mount) && typeof mount.source === "string" ? mount.source : "";
    const target = isMapping(mount) && typeof mount.target === "string" ? mount.target : "";
    const volume = /^state:(.+)$/.exec(source)?.[1];
    if (!volume) read.problem(`${at}.mounts[${i}].source: must be state:<volume>`);
    else if (!volumes.has(volume)) read.problem(`${at}.mounts[${i}]: volume "${volume}" is not declared in state.volumes`);
    if (!isAbsoluteTarget(target)) read.problem(`${at}.mounts[${i}].target: must be an absolute path without ..`);
    if (volume) mounts.push({ kind: "volume", source: volume, target, readOnly: isMapping(mount) && mount.readOnly === true });
  }
  return mounts;
}

/** `stateVolumes: ["<volume>:/path"]`, the short form of a writable state mount. */
function stateVolumeMounts(value: unknown, at: string, read: FieldReader, volumes: ReadonlySet<string>): MountPlan[] {
  return read.strings(value, `${at}.stateVolumes`).map((spec, i): MountPlan => {
    const [volume = "", target = ""] = spec.split(/:(.*)/s);
    if (!volumes.has(volume)) read.problem(`${at}.stateVolumes[${i}]: volume "${volume}" is not declared in state.volumes`);
    if (!isAbsoluteTarget(target)) read.problem(`${at}.stateVolumes[${i}]: "${spec}" must be name:/absolute/path`);
    return { kind: "volume", source: volume, target, readOnly: false };
  });
}

/** A compose-style healthcheck: `test` as CMD / CMD-SHELL list or a shell string, and its timings. */
export function healthPlan(value: unknown, where: string, problems: Problems): HealthPlan | undefined {
  if (!isMapping(value)) {
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
  // A string of digits is a number to Compose: what `retries: ${RETRIES:-3}` interpolates to.
  const retries = typeof value.retries === "string" && /^\d+$/.test(value.retries) ? Number(value.retries) : (value.retries ?? 3);
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
