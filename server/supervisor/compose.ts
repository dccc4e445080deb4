import type { ComposeService } from "../../generated/ghostd/supervisor/v1/supervisor";
import { DocumentError, isMapping, parseDuration, parseYaml, type Mapping } from "./documents";
import { environmentOf, type PackageReader } from "./compose-environment";
import { containerSettingsOf } from "./compose-container";
import { classifyServiceFields, classifyTopLevel } from "./compose-fields";
import { interpolateCompose, withoutEchoes } from "./compose-interpolation";
import { readPorts } from "./compose-ports";
import { emptyReport, errorsOf, type ComposeReport, type ServiceError } from "./compose-report";
import { mountsOf } from "./compose-volumes";
import type { Lookup } from "./interpolate";
import { healthPlan, restartPlan, SERVICE_NAME } from "./manifest";
import { startOrder, type Condition, type DependencyPlan, type HealthPlan, type PortPlan, type RestartPlan, type ServicePlan } from "./plan";

/** What an import of a Compose file found, and what it would run. */
export interface ComposeImport {
  /** False when something critical stands in the way: the file cannot be run as it is. */
  readonly valid: boolean;
  readonly services: readonly ServicePlan[];
  readonly volumes: readonly string[];
  readonly report: ComposeReport;
}

export interface ComposeContext {
  /** Reads a file of the package (for env_file); undefined when there is no package (validation). */
  readonly readPackageFile?: PackageReader;
  /**
   * The variables the file is interpolated with before it is read: the package's `.env` when
   * there is a package. Unknown to it, a service's environment and command keep their
   * references for the start (secrets, ghostd's ports and mounts); elsewhere they are empty.
   */
  readonly variables?: Lookup;
}

/** The file names a compose-mode package's compose file may have, in the order they are looked for. */
export const COMPOSE_FILES: readonly string[] = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];

/**
 * Imports a Compose file: parses it (hostile input included), interpolates its values,
 * normalises short forms, classifies every field as supported, transformed or rejected, and
 * builds the services as plans. Relative bind mounts become files copied under current/files;
 * host paths are refused.
 */
export function importCompose(text: string, context: ComposeContext = {}): ComposeImport {
  const report = emptyReport();
  const parsed = readDocument(text);
  if (typeof parsed === "string") return invalid(report, parsed);
  const { document, errors: uninterpolated, warnings, failed } = interpolateCompose(parsed, context.variables ?? (() => undefined));
  report.warnings.push(...warnings);
  classifyTopLevel(document, report);
  const volumes = topLevelVolumes(document.volumes, report);
  if (!isMapping(document.services) || Object.keys(document.services).length === 0) {
    return invalid({ ...report, errors: [...uninterpolated, ...report.errors] }, "services: the compose file must define at least one service");
  }
  const services: ServicePlan[] = [];
  for (const [name, definition] of Object.entries(document.services)) {
    const service = importService(name, definition, volumes, context, report);
    if (service) services.push(service);
  }
  warnOfComposeSecrets(document, report);
  report.errors.splice(0, report.errors.length, ...uninterpolated, ...withoutEchoes(report.errors, failed));
  return inStartOrder(services, volumes, report);
}

/** An import that cannot go on: what the report holds so far, and the error that stopped it. */
function invalid(report: ComposeReport, error: string): ComposeImport {
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

/** The named volumes the services may mount. */
function topLevelVolumes(value: unknown, report: ComposeReport): string[] {
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

/**
 * Compose secrets are files under /run/secrets; ghostd does not make them, so a service that
 * reads one there (`MYSQL_PASSWORD_FILE: /run/secrets/db_password`) would find nothing.
 */
function warnOfComposeSecrets(document: Mapping, report: ComposeReport): void {
  const services = isMapping(document.services) ? document.services : {};
  const used = document.secrets !== undefined || Object.values(services).some((s) => isMapping(s) && s.secrets !== undefined);
  if (!used) return;
  for (const [name, definition] of Object.entries(services)) {
    if (!isMapping(definition)) continue;
    for (const field of ["environment", "command", "entrypoint", "healthcheck"]) {
      if (JSON.stringify(definition[field] ?? "").includes("/run/secrets/")) {
        report.warnings.push(`services.${name}.${field}: reads a file under /run/secrets/, which will not exist: compose secrets are not supported; pass the value as a secret of StartProject (an environment variable) instead`);
      }
    }
  }
}

/** The import's result once every service is read: valid when no dependency is missing or circular. */
function inStartOrder(services: ServicePlan[], volumes: string[], report: ComposeReport): ComposeImport {
  const names = new Set(services.map((s) => s.name));
  for (const service of services) {
    for (const dependency of service.dependsOn) {
      if (!names.has(dependency.service)) report.errors.push(`services.${service.name}.depends_on: no service "${dependency.service}"`);
    }
  }
  const order = startOrder(services);
  if ("cycle" in order) report.errors.push(`depends_on: a cycle: ${order.cycle.join(" -> ")}`);
  for (const service of services) report.services.push(serviceEntry(service, report));
  const valid = report.errors.length === 0;
  return { valid, services: valid && "order" in order ? order.order : services, volumes, report };
}

/** A service as the report lists it; whether a runtime of this daemon can run it is the caller's to add. */
function serviceEntry(service: ServicePlan, report: ComposeReport): ComposeService {
  const reasons = errorsOf(report, service.name);
  return { name: service.name, image: service.image ?? "", dependsOn: service.dependsOn.map((d) => d.service), runnable: reasons.length === 0, reasons };
}

function importService(name: string, definition: unknown, volumes: string[], context: ComposeContext, report: ComposeReport): ServicePlan | undefined {
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
  const environment = environmentOf(definition, at, context.readPackageFile, report);
  const ports = portsOf(definition, name, report);
  const mounts = mountsOf(definition, name, volumes, report, error);
  const dependsOn = dependenciesOf(definition.depends_on, error);
  const { healthcheck, restart } = healthAndRestartOf(definition, at, report);
  const stopGraceMs = stopGraceOf(definition.stop_grace_period, error);
  const { workingDir, user, stopSignal } = processSettingsOf(definition, error);
  const container = containerSettingsOf(definition, error);
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
    ...container,
  };
}

/** The service's ports, with what reading them found put in the report under the service's name. */
function portsOf(definition: Mapping, service: string, report: ComposeReport): PortPlan[] {
  const at = `services.${service}`;
  const found = readPorts(definition);
  report.errors.push(...found.errors.map((e) => `${at}.${e}`));
  report.warnings.push(...found.warnings.map((w) => `${at}.${w}`));
  for (const { index, reason } of found.transformed) report.transformed.push({ path: `${at}.ports[${index}]`, service, reason });
  return found.ports;
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
function healthAndRestartOf(definition: Mapping, at: string, report: ComposeReport): { healthcheck?: HealthPlan; restart: RestartPlan } {
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
    return { service, condition: condition as Condition, required: !(isMapping(options) && (options.required === false || options.required === "false")) };
  });
}
