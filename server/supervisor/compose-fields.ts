import { isMapping, type Mapping } from "./documents";
import type { ComposeReport, FieldKind } from "./compose-report";

/** What ghostd does with each service field it knows. `deploy` and `networks` are read key by key. */
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
  labels: "kept on the container (container runtime)",
  init: "kept: an init process in the container (container runtime)",
  read_only: "kept: a read-only container file system (container runtime)",
  pull_policy: "kept: missing, always, never (container runtime)",
  stop_signal: "kept",
  stop_grace_period: "kept",
};

const TRANSFORMED: Record<string, string> = {
  build: "built by the container runtime through the engine (context less its .dockerignore, dockerfile, args, target), tagged with the service's image: name, else per project; the process runtime runs the service's command instead",
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
  configs: "configs are not supported; use files of the package",
  secrets: "compose secrets are not supported; use the manifest's secrets",
  extends: "extends is not supported; write the service out",
  profiles: "profiles are not supported; every service runs",
};

/** `deploy:` as plain Compose reads it: resources and replicas are honoured there, the rest is Swarm's. */
const DEPLOY: Record<string, string> = {
  resources: "limits and reservations (cpus, memory, pids) are not applied: this daemon's runtimes do not limit a service's resources",
  replicas: "one instance of each service runs",
  restart_policy: "not read; use the service's restart",
  labels: "not kept; use the service's labels",
};
const SWARM_ONLY = "a Swarm setting, which plain Compose ignores too";

/** Options of a service's network, beyond `aliases`, which are kept. */
const SERVICE_NETWORK: Record<string, string> = {
  ipv4_address: "static addresses are not kept: services reach each other by name on the project network",
  ipv6_address: "static addresses are not kept: services reach each other by name on the project network",
};

const TOP_LEVEL: Record<string, [FieldKind, string]> = {
  name: ["supported", "kept"],
  services: ["supported", "kept"],
  volumes: ["supported", "named volumes kept under the project's state"],
  networks: ["transformed", "collapsed into one project network"],
  configs: ["rejected", "configs are not supported; use files of the package"],
  secrets: ["rejected", "compose secrets are not supported; use the manifest's secrets"],
  include: ["rejected", "include is not supported; write one file"],
};

const UNKNOWN = "not part of the Compose subset; ignored";

/** Top-level fields; `version`, obsolete in the spec, is accepted with one warning and classified as nothing. */
export function classifyTopLevel(document: Mapping, report: ComposeReport): void {
  for (const key of Object.keys(document)) {
    if (key.startsWith("x-") || key === "version") continue;
    // Own keys only: a top-level `constructor:` is a field this subset does not know, not Object's.
    const [kind, reason] = (Object.hasOwn(TOP_LEVEL, key) ? TOP_LEVEL[key] : undefined) ?? ["rejected", UNKNOWN];
    report[kind].push({ path: key, service: "", reason });
  }
  if (document.version !== undefined) report.warnings.push("version: obsolete in the Compose specification; ignored");
  networkOptions(document.networks, report);
}

/** A top-level network's options: the bridge driver is what the project network is; the rest is dropped. */
function networkOptions(value: unknown, report: ComposeReport): void {
  if (!isMapping(value)) return;
  for (const [name, options] of Object.entries(value)) {
    if (!isMapping(options)) continue;
    const dropped = Object.keys(options).filter((key) => !(key === "driver" && (options.driver === "bridge" || options.driver === "default")));
    if (dropped.length > 0) report.rejected.push({ path: `networks.${name}`, service: "", reason: `${dropped.join(", ")}: custom network options are dropped; services share one project network` });
  }
}

/** A service's fields, each as supported, transformed or rejected; volumes are classified as their mounts are read. */
export function classifyServiceFields(definition: Mapping, service: string, report: ComposeReport): void {
  const at = `services.${service}`;
  for (const key of Object.keys(definition)) {
    if (key.startsWith("x-") || key === "volumes" || (key === "deploy" && isMapping(definition.deploy))) continue;
    const [kind, reason] = serviceFieldKind(key);
    report[kind].push({ path: `${at}.${key}`, service, reason });
  }
  if (definition.network_mode === "host") report.warnings.push(`${at}.network_mode: host is not granted; the service uses the project network`);
  for (const [key, reason] of subFields(definition.deploy, (key) => (Object.hasOwn(DEPLOY, key) ? DEPLOY[key] : SWARM_ONLY))) {
    report.rejected.push({ path: `${at}.deploy.${key}`, service, reason });
  }
  if (isMapping(definition.networks)) {
    for (const [network, options] of Object.entries(definition.networks)) {
      for (const [key, reason] of subFields(options, (key) => (Object.hasOwn(SERVICE_NETWORK, key) ? SERVICE_NETWORK[key] : "dropped: one project network, set up by ghostd"))) {
        if (key !== "aliases") report.rejected.push({ path: `${at}.networks.${network}.${key}`, service, reason });
      }
    }
  }
}

function subFields(value: unknown, reasonOf: (key: string) => string | undefined): [string, string][] {
  return isMapping(value) ? Object.keys(value).map((key) => [key, reasonOf(key) ?? UNKNOWN]) : [];
}

function serviceFieldKind(key: string): [FieldKind, string] {
  if (Object.hasOwn(SUPPORTED, key)) return ["supported", SUPPORTED[key] ?? ""];
  if (Object.hasOwn(TRANSFORMED, key)) return ["transformed", TRANSFORMED[key] ?? ""];
  if (Object.hasOwn(REJECTED, key)) return ["rejected", REJECTED[key] ?? ""];
  return ["rejected", UNKNOWN];
}
