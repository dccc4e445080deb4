import { createHash } from "node:crypto";
import type { ContainerCreateOptions } from "dockerode";
import { INHERITED_ENV } from "../../service-context";
import type { ResolvedMount, ServiceContext } from "../driver";
import { containerName, LABEL_CONFIG, networkName, resourceLabels } from "./labels";

/** The variables that tell a service where it listens, which in a container are its own ports, not the host's. */
const PORT_VARIABLE = /^GHOSTD_PORT_\d+$/;

/**
 * A service's container as the Engine API creates it, from its context alone (pure, so it is
 * tested without an engine). Honoured: image, entrypoint, command, environment, user,
 * working_dir, labels, init, read_only, tmpfs, stop signal and grace; mounts are binds of the
 * project's state; ports are published on 127.0.0.1 only when the project network may reach
 * out (an internal network publishes nothing: ghostd forwards to it instead). Never privileged,
 * no added capabilities, no host network or PID namespace.
 */
export function containerSpec(context: ServiceContext, image: string): ContainerCreateOptions {
  const spec = bareSpec(context, image);
  return { ...spec, Labels: { ...spec.Labels, [LABEL_CONFIG]: digestOf(spec) } };
}

/** The config label a container made from this context and image carries. */
export function configDigest(context: ServiceContext, image: string): string {
  return digestOf(bareSpec(context, image));
}

function digestOf(spec: ContainerCreateOptions): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** JSON with object keys sorted, so the same spec always gives the same digest. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function bareSpec(context: ServiceContext, image: string): ContainerCreateOptions {
  const { service, namespace, projectId } = context;
  const network = networkName(namespace);
  const own = context.network.ports.filter((p) => p.service === service.name);
  return {
    name: containerName(namespace, service.name),
    Image: image,
    ...(service.entrypoint.length > 0 ? { Entrypoint: [...service.entrypoint] } : {}),
    ...(service.command.length > 0 ? { Cmd: [...service.command] } : {}),
    Env: containerEnv(context),
    ...(service.user === undefined ? {} : { User: service.user }),
    ...(service.workingDir === undefined ? {} : { WorkingDir: service.workingDir }),
    Labels: { ...service.labels, ...resourceLabels(projectId, namespace, service.name) },
    StopSignal: service.stopSignal,
    ...(service.stopGraceMs === undefined ? {} : { StopTimeout: Math.ceil(service.stopGraceMs / 1000) }),
    ExposedPorts: Object.fromEntries(own.map((p) => [`${p.containerPort}/${p.protocol}`, {}])),
    Tty: false,
    OpenStdin: false,
    HostConfig: {
      NetworkMode: network,
      PortBindings: context.network.egress ? portBindings(own) : {},
      Mounts: context.mounts.filter((m) => m.kind !== "tmpfs").map(bind),
      Tmpfs: Object.fromEntries(context.mounts.filter((m) => m.kind === "tmpfs").map((m) => [m.target, "rw,nosuid,nodev"])),
      Init: service.init === true,
      ReadonlyRootfs: service.readOnly === true,
      Privileged: false,
      CapAdd: [],
      // ghostd restarts by the service's policy; the engine restarting it too would race it.
      RestartPolicy: { Name: "no" },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [service.name, ...(service.aliases ?? [])] } } },
  };
}

/**
 * The environment inside the container: the plan's variables and ghostd's, less what the daemon's
 * own environment gave (the host's PATH would hide the image's) unless the plan sets it. HOST
 * is every address, for the engine reaches the service from outside its network namespace, and
 * PORT and GHOSTD_PORT_<port> name its ports inside; GHOSTD_PORT_<SERVICE>_<port> stay host ports.
 */
export function containerEnv(context: ServiceContext): string[] {
  const { service } = context;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) {
    const setByPlan = Object.hasOwn(service.environment, key);
    if (setByPlan || !(INHERITED_ENV.includes(key) || key === "HOST" || key === "PORT" || PORT_VARIABLE.test(key))) env[key] = value;
  }
  const own = context.network.ports.filter((p) => p.service === service.name);
  for (const port of own) if (!Object.hasOwn(service.environment, `GHOSTD_PORT_${port.containerPort}`)) env[`GHOSTD_PORT_${port.containerPort}`] = String(port.containerPort);
  if (own[0] && !Object.hasOwn(service.environment, "PORT")) env.PORT = String(own[0].containerPort);
  if (!Object.hasOwn(service.environment, "HOST")) env.HOST = "0.0.0.0";
  // Sorted: the order means nothing to the container, and the config digest must not see it.
  return Object.entries(env)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
}

function portBindings(ports: ServiceContext["network"]["ports"]): Record<string, { HostIp: string; HostPort: string }[]> {
  return Object.fromEntries(ports.map((p) => [`${p.containerPort}/${p.protocol}`, [{ HostIp: "127.0.0.1", HostPort: String(p.hostPort) }]]));
}

function bind(mount: ResolvedMount): { Type: "bind"; Source: string; Target: string; ReadOnly: boolean } {
  return { Type: "bind", Source: mount.hostPath, Target: mount.target, ReadOnly: mount.readOnly };
}
