import type { ComposeField, ComposeService } from "../../generated/ghostd/supervisor/v1/supervisor";
import { DocumentError, parseDuration, parseYaml } from "./documents";
import { healthPlan, isContainedPath, restartPlan, SERVICE_NAME } from "./manifest";
import { startOrder, type Condition, type DependencyPlan, type MountPlan, type PortPlan, type ServicePlan } from "./plan";

/** What an import of a Compose file found, and what it would run. */
export interface ComposeImport {
  /** False when something critical stands in the way: the file cannot be run as it is. */
  readonly valid: boolean;
  readonly services: readonly ServicePlan[];
  readonly volumes: readonly string[];
  readonly report: {
    readonly services: ComposeService[];
    readonly supported: ComposeField[];
    readonly transformed: ComposeField[];
    readonly rejected: ComposeField[];
    readonly warnings: string[];
    /** The critical problems, each naming its field. */
    readonly errors: string[];
  };
}

export interface ComposeContext {
  /** Reads a file of the package (for env_file); undefined when there is no package (validation). */
  readonly readPackageFile?: (relative: string) => string | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const SUPPORTED: Record<string, string> = {
  image: "kept",
  command: "kept",
  entrypoint: "kept",
  environment: "kept; values without = are taken from secrets when the service starts",
  env_file: "read from the package when imported",
  ports: "kept; host ports are allocated on 127.0.0.1",
  volumes: "named volumes kept under the project's state",
  working_dir: "kept",
  user: "kept",
  restart: "kept",
  healthcheck: "kept",
  labels: "kept",
  stop_signal: "kept",
  stop_grace_period: "kept",
};

const TRANSFORMED: Record<string, string> = {
  build: "not built: the service needs a prebuilt image, or a command for the process runtime",
  depends_on: "kept as start order; service_healthy waits for the healthcheck, service_completed_successfully for exit 0",
  networks: "collapsed into one project network; aliases kept",
  expose: "internal only: no host port is allocated",
  tmpfs: "kept as a private temporary file system",
  logging: "driver options dropped; logs go to the supervisor",
  container_name: "dropped: names come from the project's namespace",
  hostname: "dropped: names come from the project's namespace",
};

const REJECTED: Record<string, string> = {
  privileged: "privileged services are not run",
  cap_add: "extra capabilities are not granted",
  pid: "sharing a process namespace is not supported",
  network_mode: "network modes are not supported; services share the project network",
  devices: "host devices are not passed through",
  sysctls: "kernel parameters are not changed",
  security_opt: "security options are not changed",
  deploy: "deploy (swarm) settings are not supported",
  configs: "configs are not supported; use files of the package",
  secrets: "compose secrets are not supported; use the manifest's secrets",
  extends: "extends is not supported; write the service out",
  profiles: "profiles are not supported; every service runs",
};

const TOP_LEVEL: Record<string, ["supported" | "transformed" | "rejected", string]> = {
  version: ["supported", "obsolete; ignored"],
  name: ["supported", "kept"],
  services: ["supported", "kept"],
  volumes: ["supported", "named volumes kept under the project's state"],
  networks: ["transformed", "collapsed into one project network"],
  configs: ["rejected", "configs are not supported; use files of the package"],
  secrets: ["rejected", "compose secrets are not supported; use the manifest's secrets"],
  include: ["rejected", "include is not supported; write one file"],
};

/**
 * Imports a Compose file: parses it (hostile input included), normalises short forms, classifies
 * every field as supported, transformed or rejected, and builds the services as plans. Relative
 * bind mounts become files copied under current/files; absolute host paths are refused.
 */
export function importCompose(text: string, context: ComposeContext = {}): ComposeImport {
  const report: ComposeImport["report"] = { services: [], supported: [], transformed: [], rejected: [], warnings: [], errors: [] };
  const invalid = (error: string): ComposeImport => ({ valid: false, services: [], volumes: [], report: { ...report, errors: [...report.errors, error] } });
  let document: unknown;
  try {
    document = parseYaml(text, "the compose file");
  } catch (err) {
    return invalid(err instanceof DocumentError ? err.message : `the compose file cannot be read: ${(err as Error).message}`);
  }
  if (!isObj(document)) return invalid("the compose file must be a mapping with services");

  for (const key of Object.keys(document)) {
    if (key.startsWith("x-")) continue;
    const known = TOP_LEVEL[key];
    const [kind, reason] = known ?? ["rejected", "not part of the Compose subset; ignored"];
    (kind === "supported" ? report.supported : kind === "transformed" ? report.transformed : report.rejected).push({ path: key, service: "", reason });
  }
  if (document.version !== undefined) report.warnings.push("version: obsolete in Compose; ignored");

  const volumes: string[] = [];
  if (document.volumes !== undefined) {
    if (!isObj(document.volumes)) report.errors.push("volumes: must be a mapping of volume names");
    else
      for (const [name, options] of Object.entries(document.volumes)) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) report.errors.push(`volumes.${name}: not a volume name`);
        else volumes.push(name);
        if (isObj(options) && (options.driver !== undefined || options.external !== undefined)) {
          report.rejected.push({ path: `volumes.${name}`, service: "", reason: "volume drivers and external volumes are not supported; a local volume is used" });
        }
      }
  }
  if (document.networks !== undefined && isObj(document.networks)) {
    for (const [name, options] of Object.entries(document.networks)) {
      if (isObj(options) && Object.keys(options).length > 0) {
        report.rejected.push({ path: `networks.${name}`, service: "", reason: "custom network options are dropped; services share one project network" });
      }
    }
  }

  if (!isObj(document.services) || Object.keys(document.services).length === 0) {
    return invalid("services: the compose file must define at least one service");
  }
  const services: ServicePlan[] = [];
  for (const [name, definition] of Object.entries(document.services)) {
    const service = importService(name, definition, volumes, context, report);
    if (service) services.push(service);
  }

  const names = new Set(services.map((s) => s.name));
  for (const service of services) {
    for (const dependency of service.dependsOn) {
      if (!names.has(dependency.service)) report.errors.push(`services.${service.name}.depends_on: no service "${dependency.service}"`);
    }
  }
  const order = startOrder(services);
  if ("cycle" in order) report.errors.push(`depends_on: a cycle: ${order.cycle.join(" -> ")}`);
  for (const service of services) {
    report.services.push({ name: service.name, image: service.image ?? "", dependsOn: service.dependsOn.map((d) => d.service) });
  }
  const valid = report.errors.length === 0;
  return { valid, services: valid && "order" in order ? order.order : services, volumes, report };
}

function importService(name: string, definition: unknown, volumes: string[], context: ComposeContext, report: ComposeImport["report"]): ServicePlan | undefined {
  const at = `services.${name}`;
  const error = (message: string): void => void report.errors.push(`${at}.${message}`);
  if (!SERVICE_NAME.test(name)) {
    report.errors.push(`${at}: "${name}" is not a service name`);
    return undefined;
  }
  if (!isObj(definition)) {
    report.errors.push(`${at}: must be a mapping`);
    return undefined;
  }
  for (const key of Object.keys(definition)) {
    if (key.startsWith("x-")) continue;
    const field = { path: `${at}.${key}`, service: name };
    if (key in SUPPORTED && key !== "volumes") report.supported.push({ ...field, reason: SUPPORTED[key] ?? "" });
    else if (key in TRANSFORMED) report.transformed.push({ ...field, reason: TRANSFORMED[key] ?? "" });
    else if (key in REJECTED) report.rejected.push({ ...field, reason: REJECTED[key] ?? "" });
    else if (key !== "volumes") report.rejected.push({ ...field, reason: "not part of the Compose subset; ignored" });
  }
  if (definition.network_mode === "host") report.warnings.push(`${at}.network_mode: host is not granted; the service uses the project network`);

  const image = definition.image;
  if (image !== undefined && typeof image !== "string") error("image: must be a string");
  if (image === undefined && definition.build === undefined && definition.command === undefined && definition.entrypoint === undefined) {
    error("image: a service needs an image, a build or a command");
  }

  const entrypoint = commandLine(definition.entrypoint, "entrypoint", error);
  const command = commandLine(definition.command, "command", error);
  const environment = environmentOf(definition, at, context, report);
  const ports = portsOf(definition, at, report, error);
  const mounts = mountsOf(definition, name, volumes, report, error);
  const dependsOn = dependenciesOf(definition.depends_on, error);
  const problems: string[] = [];
  const healthcheck = definition.healthcheck === undefined ? undefined : healthPlan(definition.healthcheck, `${at}.healthcheck`, problems);
  const restart = restartPlan(definition.restart, `${at}.restart`, problems);
  report.errors.push(...problems);
  let stopGraceMs: number | undefined;
  if (definition.stop_grace_period !== undefined) {
    stopGraceMs = parseDuration(definition.stop_grace_period);
    if (stopGraceMs === undefined) error(`stop_grace_period: ${JSON.stringify(definition.stop_grace_period)} is not a duration`);
  }
  const text = (field: string): string | undefined => {
    const value = definition[field];
    if (value === undefined) return undefined;
    if (typeof value !== "string" && typeof value !== "number") {
      error(`${field}: must be a string`);
      return undefined;
    }
    return String(value);
  };
  const workingDir = text("working_dir");
  const user = text("user");
  const stopSignal = text("stop_signal") ?? "SIGTERM";
  if (definition.labels !== undefined && !isObj(definition.labels) && !Array.isArray(definition.labels)) error("labels: must be a mapping or a list");
  return {
    name,
    ...(typeof image === "string" ? { image } : {}),
    ...(definition.build === undefined ? {} : { build: true }),
    entrypoint,
    command,
    environment,
    ...(workingDir === undefined ? {} : { workingDir }),
    ...(user === undefined ? {} : { user }),
    ports,
    mounts,
    dependsOn,
    ...(healthcheck ? { healthcheck } : {}),
    restart,
    stopSignal: stopSignal.startsWith("SIG") ? stopSignal : `SIG${stopSignal}`,
    ...(stopGraceMs === undefined ? {} : { stopGraceMs }),
  };
}

/** A command as Compose writes it: a list, or a string split as a shell would, without one. */
function commandLine(value: unknown, field: string, error: (message: string) => void): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.every((x) => typeof x === "string" || typeof x === "number")) return value.map(String);
  if (typeof value === "string") {
    const words = splitWords(value);
    if (words) return words;
    error(`${field}: unbalanced quotes in "${value}"`);
    return [];
  }
  error(`${field}: must be a string or a list of strings`);
  return [];
}

/** Splits a command line like a POSIX shell does (quotes, backslashes), without expanding anything. */
export function splitWords(text: string): string[] | undefined {
  const words: string[] = [];
  let current = "";
  let started = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && /["\\$`]/.test(text.charAt(i + 1))) current += text.charAt(++i);
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (ch === "\\" && i + 1 < text.length) {
      current += text.charAt(++i);
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) words.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote) return undefined;
  if (started) words.push(current);
  return words;
}

function environmentOf(definition: Obj, at: string, context: ComposeContext, report: ComposeImport["report"]): Record<string, string> {
  const environment: Record<string, string> = {};
  const set = (key: string, value: string | undefined, where: string): void => {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) report.errors.push(`${where}: "${key}" is not an environment variable name`);
    // A name without a value is taken from the secrets when the service starts.
    else environment[key] = value ?? `\${${key}}`;
  };
  const files = definition.env_file === undefined ? [] : Array.isArray(definition.env_file) ? definition.env_file : [definition.env_file];
  for (const [i, entry] of files.entries()) {
    const path = typeof entry === "string" ? entry : isObj(entry) && typeof entry.path === "string" ? entry.path : undefined;
    const required = !(isObj(entry) && entry.required === false);
    if (path === undefined || !isContainedPath(path.replace(/^\.\//, ""))) {
      report.errors.push(`${at}.env_file[${i}]: must be a relative path inside the package`);
      continue;
    }
    if (!context.readPackageFile) {
      report.warnings.push(`${at}.env_file: ${path} is read from the package when the project is imported`);
      continue;
    }
    const content = context.readPackageFile(path.replace(/^\.\//, ""));
    if (content === undefined) {
      if (required) report.errors.push(`${at}.env_file: ${path} does not exist in the package`);
      continue;
    }
    for (const line of content.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed === "" || trimmed.startsWith("#")) continue;
      const eq = trimmed.indexOf("=");
      const key = (eq < 0 ? trimmed : trimmed.slice(0, eq)).replace(/^export\s+/, "").trim();
      const raw = eq < 0 ? undefined : trimmed.slice(eq + 1).trim();
      set(key, raw?.replace(/^(['"])(.*)\1$/, "$2"), `${at}.env_file`);
    }
  }
  const env = definition.environment;
  if (env === undefined) return environment;
  if (Array.isArray(env)) {
    for (const item of env) {
      if (typeof item !== "string") {
        report.errors.push(`${at}.environment: list entries must be strings like KEY=value`);
        continue;
      }
      const eq = item.indexOf("=");
      set(eq < 0 ? item : item.slice(0, eq), eq < 0 ? undefined : item.slice(eq + 1), `${at}.environment`);
    }
  } else if (isObj(env)) {
    for (const [key, value] of Object.entries(env)) {
      if (value === null || value === undefined) set(key, undefined, `${at}.environment`);
      else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") set(key, String(value), `${at}.environment`);
      else report.errors.push(`${at}.environment.${key}: must be a string, number or boolean`);
    }
  } else {
    report.errors.push(`${at}.environment: must be a mapping or a list`);
  }
  return environment;
}

function port(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function range(text: string): number[] | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) return undefined;
  const from = port(match[1]);
  const to = match[2] === undefined ? from : port(match[2]);
  if (from === undefined || to === undefined || to < from || to - from > 1000) return undefined;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function portsOf(definition: Obj, at: string, report: ComposeImport["report"], error: (message: string) => void): PortPlan[] {
  const ports: PortPlan[] = [];
  const list = definition.ports === undefined ? [] : Array.isArray(definition.ports) ? definition.ports : undefined;
  if (!list) error("ports: must be a list");
  for (const entry of list ?? []) {
    if (typeof entry === "number" || typeof entry === "string") {
      // [host_ip:][host[-range]:]container[-range][/protocol]
      const text = String(entry);
      const [spec = "", protocol = "tcp"] = text.split("/");
      const parts = spec.split(":");
      const containerPorts = range(parts[parts.length - 1] ?? "");
      const hostText = parts.length >= 2 ? parts[parts.length - 2] : undefined;
      const hostIp = parts.length === 3 ? parts[0] : undefined;
      const hostPorts = hostText === undefined || hostText === "" ? undefined : range(hostText);
      if (!containerPorts || (protocol !== "tcp" && protocol !== "udp") || parts.length > 3 || (hostText !== undefined && hostText !== "" && (!hostPorts || hostPorts.length !== containerPorts.length))) {
        error(`ports: "${text}" is not a port mapping like 8080:80, 80 or 127.0.0.1:8080:80/udp`);
        continue;
      }
      if (hostIp !== undefined && hostIp !== "127.0.0.1" && hostIp !== "localhost" && hostIp !== "") {
        report.warnings.push(`${at}.ports: "${text}" is bound to 127.0.0.1, not ${hostIp}`);
      }
      containerPorts.forEach((containerPort, i) => {
        const hostPort = hostPorts?.[i];
        ports.push({ containerPort, protocol: protocol, exposure: "auto", ...(hostPort === undefined ? {} : { hostPort }) });
      });
    } else if (isObj(entry)) {
      const target = port(entry.target);
      const published = entry.published === undefined ? undefined : port(entry.published);
      const protocol = entry.protocol ?? "tcp";
      if (target === undefined || (entry.published !== undefined && published === undefined) || (protocol !== "tcp" && protocol !== "udp")) {
        error(`ports: ${JSON.stringify(entry)} needs a target port, and a published port and protocol when given`);
        continue;
      }
      ports.push({ containerPort: target, protocol: protocol, exposure: "auto", ...(published === undefined ? {} : { hostPort: published }) });
    } else {
      error(`ports: ${JSON.stringify(entry)} is not a port mapping`);
    }
  }
  for (const entry of Array.isArray(definition.expose) ? definition.expose : []) {
    const exposed = range(String(entry).split("/")[0] ?? "");
    if (!exposed) error(`expose: "${String(entry)}" is not a port`);
    for (const containerPort of exposed ?? []) ports.push({ containerPort, protocol: "tcp", exposure: "none" });
  }
  return ports;
}

function mountsOf(definition: Obj, service: string, volumes: string[], report: ComposeImport["report"], error: (message: string) => void): MountPlan[] {
  const at = `services.${service}`;
  const mounts: MountPlan[] = [];
  const absoluteTarget = (target: string): boolean => target.startsWith("/") && !target.split("/").includes("..");
  const bind = (source: string, target: string, readOnly: boolean, where: string): void => {
    if (source.startsWith("/") || source.startsWith("~")) {
      report.rejected.push({ path: where, service, reason: `absolute host path ${source} refused: only paths inside the package are mounted` });
      error(`volumes: "${source}" is a host path; only relative paths inside the package can be mounted`);
      return;
    }
    const relative = source.replace(/^\.\//, "");
    if (!isContainedPath(relative)) {
      error(`volumes: "${source}" leaves the package`);
      return;
    }
    report.transformed.push({ path: where, service, reason: `${source} is copied under the project's current/files and mounted from there` });
    mounts.push({ kind: "files", source: relative, target, readOnly });
  };
  let anonymous = 0;
  for (const [i, entry] of (Array.isArray(definition.volumes) ? definition.volumes : []).entries()) {
    const where = `${at}.volumes[${i}]`;
    if (typeof entry === "string") {
      const [source = "", target, mode] = entry.split(":");
      if (target === undefined) {
        // An anonymous volume: a volume of its own under the project's state.
        const name = `${service}-anonymous-${++anonymous}`;
        if (!absoluteTarget(source)) error(`volumes: "${entry}" must mount at an absolute path`);
        else {
          volumes.push(name);
          mounts.push({ kind: "volume", source: name, target: source, readOnly: false });
          report.transformed.push({ path: where, service, reason: `an anonymous volume, kept as ${name}` });
        }
        continue;
      }
      if (!absoluteTarget(target)) {
        error(`volumes: "${entry}" must mount at an absolute path`);
        continue;
      }
      const readOnly = mode === "ro";
      if (source.startsWith(".") || source.startsWith("/") || source.startsWith("~") || source.includes("/")) bind(source, target, readOnly, where);
      else if (!volumes.includes(source)) error(`volumes: volume "${source}" is not declared in the top-level volumes`);
      else {
        report.supported.push({ path: where, service, reason: `named volume ${source}, kept under the project's state` });
        mounts.push({ kind: "volume", source, target, readOnly });
      }
    } else if (isObj(entry)) {
      const { type, source, target } = entry;
      const readOnly = entry.read_only === true;
      if (typeof target !== "string" || !absoluteTarget(target)) {
        error(`volumes[${i}].target: must be an absolute path`);
        continue;
      }
      if (type === "tmpfs") {
        mounts.push({ kind: "tmpfs", source: "", target, readOnly: false });
        report.transformed.push({ path: where, service, reason: "kept as a private temporary file system" });
      } else if (type === "bind" && typeof source === "string") bind(source, target, readOnly, where);
      else if ((type === "volume" || type === undefined) && typeof source === "string" && volumes.includes(source)) {
        report.supported.push({ path: where, service, reason: `named volume ${source}, kept under the project's state` });
        mounts.push({ kind: "volume", source, target, readOnly });
      } else error(`volumes[${i}]: needs type volume (a declared volume), bind (a package path) or tmpfs`);
    } else {
      error(`volumes[${i}]: must be a string like name:/path or a mapping`);
    }
  }
  if (definition.volumes !== undefined && !Array.isArray(definition.volumes)) error("volumes: must be a list");
  const tmpfs = definition.tmpfs === undefined ? [] : Array.isArray(definition.tmpfs) ? definition.tmpfs : [definition.tmpfs];
  for (const target of tmpfs) {
    const path = typeof target === "string" ? (target.split(":")[0] ?? "") : "";
    if (!absoluteTarget(path)) error(`tmpfs: "${String(target)}" must be an absolute path`);
    else mounts.push({ kind: "tmpfs", source: "", target: path, readOnly: false });
  }
  return mounts;
}

const CONDITIONS = new Set<Condition>(["service_started", "service_healthy", "service_completed_successfully"]);

function dependenciesOf(value: unknown, error: (message: string) => void): DependencyPlan[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) {
    if (!value.every((x) => typeof x === "string")) error("depends_on: must list service names");
    return value.filter((x): x is string => typeof x === "string").map((service) => ({ service, condition: "service_started", required: true }));
  }
  if (!isObj(value)) {
    error("depends_on: must be a list or a mapping");
    return [];
  }
  return Object.entries(value).map(([service, options]) => {
    const condition = isObj(options) && typeof options.condition === "string" ? options.condition : "service_started";
    if (!CONDITIONS.has(condition as Condition)) error(`depends_on.${service}.condition: must be service_started, service_healthy or service_completed_successfully`);
    return { service, condition: condition as Condition, required: !(isObj(options) && options.required === false) };
  });
}
