import type { ComposeField, ComposeService } from "../../generated/ghostd/supervisor/v1/supervisor";
import { DocumentError, isMapping, parseDuration, parseYaml, type Mapping } from "./documents";
import { healthPlan, isAbsoluteTarget, isContainedPath, restartPlan, SERVICE_NAME } from "./manifest";
import { startOrder, type Condition, type DependencyPlan, type HealthPlan, type MountPlan, type PortPlan, type RestartPlan, type ServicePlan } from "./plan";

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

/** The file names a compose-mode package's compose file may have, in the order they are looked for. */
export const COMPOSE_FILES: readonly string[] = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];

type Report = ComposeImport["report"];
type FieldKind = "supported" | "transformed" | "rejected";
type ServiceError = (message: string) => void;

/**
 * Imports a Compose file: parses it (hostile input included), normalises short forms, classifies
 * every field as supported, transformed or rejected, and builds the services as plans. Relative
 * bind mounts become files copied under current/files; absolute host paths are refused.
 */
export function importCompose(text: string, context: ComposeContext = {}): ComposeImport {
  const report: Report = { services: [], supported: [], transformed: [], rejected: [], warnings: [], errors: [] };
  const document = readDocument(text);
  if (typeof document === "string") return invalid(report, document);
  classifyTopLevel(document, report);
  const volumes = topLevelVolumes(document.volumes, report);
  rejectNetworkOptions(document.networks, report);
  if (!isMapping(document.services) || Object.keys(document.services).length === 0) {
    return invalid(report, "services: the compose file must define at least one service");
  }
  const services: ServicePlan[] = [];
  for (const [name, definition] of Object.entries(document.services)) {
    const service = importService(name, definition, volumes, context, report);
    if (service) services.push(service);
  }
  return inStartOrder(services, volumes, report);
}

/** An import that cannot go on: what the report holds so far, and the error that stopped it. */
function invalid(report: Report, error: string): ComposeImport {
  return { valid: false, services: [], volumes: [], report: { ...report, errors: [...report.errors, error] } };
}

/** The compose file as a mapping, or why it is not one. */
function readDocument(text: string): Mapping | string {
  let document: unknown;
  try {
    document = parseYaml(text, "the compose file");
  } catch (err) {
    return err instanceof DocumentError ? err.message : `the compose file cannot be read: ${(err as Error).message}`;
  }
  return isMapping(document) ? document : "the compose file must be a mapping with services";
}

function classifyTopLevel(document: Mapping, report: Report): void {
  for (const key of Object.keys(document)) {
    if (key.startsWith("x-")) continue;
    // Own keys only: a top-level `constructor:` is a field this subset does not know, not Object's.
    const [kind, reason] = (Object.hasOwn(TOP_LEVEL, key) ? TOP_LEVEL[key] : undefined) ?? ["rejected", "not part of the Compose subset; ignored"];
    report[kind].push({ path: key, service: "", reason });
  }
  if (document.version !== undefined) report.warnings.push("version: obsolete in Compose; ignored");
}

/** The named volumes the services may mount. */
function topLevelVolumes(value: unknown, report: Report): string[] {
  const volumes: string[] = [];
  if (value === undefined) return volumes;
  if (!isMapping(value)) {
    report.errors.push("volumes: must be a mapping of volume names");
    return volumes;
  }
  for (const [name, options] of Object.entries(value)) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) report.errors.push(`volumes.${name}: not a volume name`);
    else volumes.push(name);
    if (isMapping(options) && (options.driver !== undefined || options.external !== undefined)) {
      report.rejected.push({ path: `volumes.${name}`, service: "", reason: "volume drivers and external volumes are not supported; a local volume is used" });
    }
  }
  return volumes;
}

function rejectNetworkOptions(value: unknown, report: Report): void {
  if (!isMapping(value)) return;
  for (const [name, options] of Object.entries(value)) {
    if (isMapping(options) && Object.keys(options).length > 0) {
      report.rejected.push({ path: `networks.${name}`, service: "", reason: "custom network options are dropped; services share one project network" });
    }
  }
}

/** The import's result once every service is read: valid when no dependency is missing or circular. */
function inStartOrder(services: ServicePlan[], volumes: string[], report: Report): ComposeImport {
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

function importService(name: string, definition: unknown, volumes: string[], context: ComposeContext, report: Report): ServicePlan | undefined {
  const at = `services.${name}`;
  if (!SERVICE_NAME.test(name)) {
    report.errors.push(`${at}: "${name}" is not a service name`);
    return undefined;
  }
  if (!isMapping(definition)) {
    report.errors.push(`${at}: must be a mapping`);
    return undefined;
  }
  const error: ServiceError = (message) => void report.errors.push(`${at}.${message}`);
  classifyServiceFields(definition, name, report);
  const image = imageOf(definition, error);
  const entrypoint = commandLine(definition.entrypoint, "entrypoint", error);
  const command = commandLine(definition.command, "command", error);
  const environment = environmentOf(definition, at, context, report);
  const ports = portsOf(definition, at, report, error);
  const mounts = mountsOf(definition, name, volumes, report, error);
  const dependsOn = dependenciesOf(definition.depends_on, error);
  const { healthcheck, restart } = healthAndRestartOf(definition, at, report);
  const stopGraceMs = stopGraceOf(definition.stop_grace_period, error);
  const { workingDir, user, stopSignal } = processSettingsOf(definition, error);
  if (definition.labels !== undefined && !isMapping(definition.labels) && !Array.isArray(definition.labels)) error("labels: must be a mapping or a list");
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
    stopSignal,
    ...(stopGraceMs === undefined ? {} : { stopGraceMs }),
  };
}

function classifyServiceFields(definition: Mapping, service: string, report: Report): void {
  const at = `services.${service}`;
  for (const key of Object.keys(definition)) {
    // Volumes are classified one by one, as their mounts are read.
    if (key.startsWith("x-") || key === "volumes") continue;
    const [kind, reason] = serviceFieldKind(key);
    report[kind].push({ path: `${at}.${key}`, service, reason });
  }
  if (definition.network_mode === "host") report.warnings.push(`${at}.network_mode: host is not granted; the service uses the project network`);
}

function serviceFieldKind(key: string): [FieldKind, string] {
  if (Object.hasOwn(SUPPORTED, key)) return ["supported", SUPPORTED[key] ?? ""];
  if (Object.hasOwn(TRANSFORMED, key)) return ["transformed", TRANSFORMED[key] ?? ""];
  if (Object.hasOwn(REJECTED, key)) return ["rejected", REJECTED[key] ?? ""];
  return ["rejected", "not part of the Compose subset; ignored"];
}

/** The image, which a service may go without only when it is built or given a command. */
function imageOf(definition: Mapping, error: ServiceError): unknown {
  const image = definition.image;
  if (image !== undefined && typeof image !== "string") error("image: must be a string");
  if (image === undefined && definition.build === undefined && definition.command === undefined && definition.entrypoint === undefined) {
    error("image: a service needs an image, a build or a command");
  }
  return image;
}

/** The healthcheck and restart policy, read as the manifest reads them. */
function healthAndRestartOf(definition: Mapping, at: string, report: Report): { healthcheck?: HealthPlan; restart: RestartPlan } {
  const problems: string[] = [];
  const healthcheck = definition.healthcheck === undefined ? undefined : healthPlan(definition.healthcheck, `${at}.healthcheck`, problems);
  const restart = restartPlan(definition.restart, `${at}.restart`, problems);
  report.errors.push(...problems);
  return { healthcheck, restart };
}

function stopGraceOf(value: unknown, error: ServiceError): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) error(`stop_grace_period: ${JSON.stringify(value)} is not a duration`);
  return ms;
}

/** Where and as whom the process runs, and the signal that stops it (`TERM` is `SIGTERM`). */
function processSettingsOf(definition: Mapping, error: ServiceError): { workingDir?: string; user?: string; stopSignal: string } {
  const workingDir = textField(definition, "working_dir", error);
  const user = textField(definition, "user", error);
  const stopSignal = textField(definition, "stop_signal", error) ?? "SIGTERM";
  return { workingDir, user, stopSignal: stopSignal.startsWith("SIG") ? stopSignal : `SIG${stopSignal}` };
}

/** A field Compose writes as a string, or a number it means as one (a user id). */
function textField(definition: Mapping, field: string, error: ServiceError): string | undefined {
  const value = definition[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string" && typeof value !== "number") {
    error(`${field}: must be a string`);
    return undefined;
  }
  return String(value);
}

/** A command as Compose writes it: a list, or a string split as a shell would, without one. */
function commandLine(value: unknown, field: string, error: ServiceError): string[] {
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

/** A service's environment: its env_files first, then `environment`, which wins. */
function environmentOf(definition: Mapping, at: string, context: ComposeContext, report: Report): Record<string, string> {
  const environment: Record<string, string> = {};
  const set = (key: string, value: string | undefined, where: string): void => {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) report.errors.push(`${where}: "${key}" is not an environment variable name`);
    // A name without a value is taken from the secrets when the service starts.
    else environment[key] = value ?? `\${${key}}`;
  };
  const files = definition.env_file === undefined ? [] : Array.isArray(definition.env_file) ? definition.env_file : [definition.env_file];
  for (const [i, entry] of files.entries()) {
    const content = envFileContent(entry, `${at}.env_file`, i, context, report);
    for (const [key, value] of envFileEntries(content ?? "")) set(key, value, `${at}.env_file`);
  }
  environmentField(definition.environment, `${at}.environment`, report, set);
  return environment;
}

/** `environment:` as a list of `KEY=value` (or bare `KEY`) or a mapping; each entry goes to `set`. */
function environmentField(value: unknown, where: string, report: Report, set: (key: string, value: string | undefined, where: string) => void): void {
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
function envFileContent(entry: unknown, where: string, i: number, context: ComposeContext, report: Report): string | undefined {
  const path = typeof entry === "string" ? entry : isMapping(entry) && typeof entry.path === "string" ? entry.path : undefined;
  const required = !(isMapping(entry) && entry.required === false);
  if (path === undefined || !isContainedPath(path.replace(/^\.\//, ""))) {
    report.errors.push(`${where}[${i}]: must be a relative path inside the package`);
    return undefined;
  }
  if (!context.readPackageFile) {
    report.warnings.push(`${where}: ${path} is read from the package when the project is imported`);
    return undefined;
  }
  const content = context.readPackageFile(path.replace(/^\.\//, ""));
  if (content === undefined && required) report.errors.push(`${where}: ${path} does not exist in the package`);
  return content;
}

/** `KEY=value` lines (`export`, quotes and comments allowed); a bare `KEY` has no value. */
function envFileEntries(content: string): [string, string | undefined][] {
  const entries: [string, string | undefined][] = [];
  for (const line of content.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    const key = (eq < 0 ? trimmed : trimmed.slice(0, eq)).replace(/^export\s+/, "").trim();
    const raw = eq < 0 ? undefined : trimmed.slice(eq + 1).trim();
    entries.push([key, raw?.replace(/^(['"])(.*)\1$/, "$2")]);
  }
  return entries;
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

function portsOf(definition: Mapping, at: string, report: Report, error: ServiceError): PortPlan[] {
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
    } else if (isMapping(entry)) {
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

/** `volumes:` in its short (`source:target[:ro]`) and long forms, and `tmpfs:`. */
function mountsOf(definition: Mapping, service: string, volumes: string[], report: Report, error: ServiceError): MountPlan[] {
  const mounts = new ServiceMounts(service, volumes, report, error);
  for (const [i, entry] of (Array.isArray(definition.volumes) ? definition.volumes : []).entries()) {
    if (typeof entry === "string") mounts.shortForm(entry, i);
    else if (isMapping(entry)) mounts.longForm(entry, i);
    else error(`volumes[${i}]: must be a string like name:/path or a mapping`);
  }
  if (definition.volumes !== undefined && !Array.isArray(definition.volumes)) error("volumes: must be a list");
  const tmpfs = definition.tmpfs === undefined ? [] : Array.isArray(definition.tmpfs) ? definition.tmpfs : [definition.tmpfs];
  for (const target of tmpfs) {
    const path = typeof target === "string" ? (target.split(":")[0] ?? "") : "";
    if (!isAbsoluteTarget(path)) error(`tmpfs: "${String(target)}" must be an absolute path`);
    else mounts.tmpfs(path);
  }
  return mounts.list;
}

/** One service's mounts as they are read, each classified in the report as it is added. */
class ServiceMounts {
  readonly list: MountPlan[] = [];
  private anonymous = 0;

  constructor(
    private readonly service: string,
    /** The project's named volumes; an anonymous volume is added to them. */
    private readonly volumes: string[],
    private readonly report: Report,
    private readonly error: ServiceError,
  ) {}

  shortForm(entry: string, i: number): void {
    const where = this.where(i);
    const [source = "", target, mode] = entry.split(":");
    if (target === undefined) return this.anonymousVolume(entry, source, where);
    if (!isAbsoluteTarget(target)) return this.error(`volumes: "${entry}" must mount at an absolute path`);
    const readOnly = mode === "ro";
    if (source.startsWith(".") || source.startsWith("/") || source.startsWith("~") || source.includes("/")) this.bind(source, target, readOnly, where);
    else if (!this.volumes.includes(source)) this.error(`volumes: volume "${source}" is not declared in the top-level volumes`);
    else this.namedVolume(source, target, readOnly, where);
  }

  longForm(entry: Mapping, i: number): void {
    const where = this.where(i);
    const { type, source, target } = entry;
    const readOnly = entry.read_only === true;
    if (typeof target !== "string" || !isAbsoluteTarget(target)) return this.error(`volumes[${i}].target: must be an absolute path`);
    if (type === "tmpfs") {
      this.tmpfs(target);
      this.report.transformed.push({ path: where, service: this.service, reason: "kept as a private temporary file system" });
    } else if (type === "bind" && typeof source === "string") this.bind(source, target, readOnly, where);
    else if ((type === "volume" || type === undefined) && typeof source === "string" && this.volumes.includes(source)) this.namedVolume(source, target, readOnly, where);
    else this.error(`volumes[${i}]: needs type volume (a declared volume), bind (a package path) or tmpfs`);
  }

  tmpfs(target: string): void {
    this.list.push({ kind: "tmpfs", source: "", target, readOnly: false });
  }

  private where(i: number): string {
    return `services.${this.service}.volumes[${i}]`;
  }

  /** `- /path`: a volume of its own under the project's state. */
  private anonymousVolume(entry: string, target: string, where: string): void {
    const name = `${this.service}-anonymous-${++this.anonymous}`;
    if (!isAbsoluteTarget(target)) return this.error(`volumes: "${entry}" must mount at an absolute path`);
    this.volumes.push(name);
    this.list.push({ kind: "volume", source: name, target, readOnly: false });
    this.report.transformed.push({ path: where, service: this.service, reason: `an anonymous volume, kept as ${name}` });
  }

  private namedVolume(source: string, target: string, readOnly: boolean, where: string): void {
    this.report.supported.push({ path: where, service: this.service, reason: `named volume ${source}, kept under the project's state` });
    this.list.push({ kind: "volume", source, target, readOnly });
  }

  /** A bind mount of a package path, copied under current/files; a host path is refused. */
  private bind(source: string, target: string, readOnly: boolean, where: string): void {
    if (source.startsWith("/") || source.startsWith("~")) {
      this.report.rejected.push({ path: where, service: this.service, reason: `absolute host path ${source} refused: only paths inside the package are mounted` });
      return this.error(`volumes: "${source}" is a host path; only relative paths inside the package can be mounted`);
    }
    const relative = source.replace(/^\.\//, "");
    if (!isContainedPath(relative)) return this.error(`volumes: "${source}" leaves the package`);
    this.report.transformed.push({ path: where, service: this.service, reason: `${source} is copied under the project's current/files and mounted from there` });
    this.list.push({ kind: "files", source: relative, target, readOnly });
  }
}

const CONDITIONS = new Set<Condition>(["service_started", "service_healthy", "service_completed_successfully"]);

function dependenciesOf(value: unknown, error: ServiceError): DependencyPlan[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) {
    if (!value.every((x) => typeof x === "string")) error("depends_on: must list service names");
    return value.filter((x): x is string => typeof x === "string").map((service) => ({ service, condition: "service_started", required: true }));
  }
  if (!isMapping(value)) {
    error("depends_on: must be a list or a mapping");
    return [];
  }
  return Object.entries(value).map(([service, options]) => {
    const condition = isMapping(options) && typeof options.condition === "string" ? options.condition : "service_started";
    if (!CONDITIONS.has(condition as Condition)) error(`depends_on.${service}.condition: must be service_started, service_healthy or service_completed_successfully`);
    return { service, condition: condition as Condition, required: !(isMapping(options) && options.required === false) };
  });
}
