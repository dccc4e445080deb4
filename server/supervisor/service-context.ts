import { interpolate, InterpolationError, type Lookup } from "./interpolate";
import type { ProjectPlan, ServicePlan } from "./plan";
import { supervisorError } from "./reasons";
import type { PortRow, ProjectRow } from "./registry";
import { mountVariable, type ResolvedMount, type RuntimeDriver, type ServiceContext } from "./runtime/driver";
import { StateLayout } from "./state-layout";

/** Host environment a service inherits; everything else comes from its plan. */
export const INHERITED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TMPDIR"];

export interface ContextSources {
  readonly project: Pick<ProjectRow, "projectId" | "namespace" | "packagePath" | "statePath">;
  readonly service: ServicePlan;
  readonly driver: RuntimeDriver;
  /** Every service's host ports: each service is told where the others listen. */
  readonly ports: readonly PortRow[];
  readonly secrets: Readonly<Record<string, string>>;
  /** The daemon's environment, of which a service inherits only INHERITED_ENV. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** The whole project's plan: its services' names and its egress make the network. */
  readonly projectPlan: Pick<ProjectPlan, "services" | "egress">;
}

/**
 * A service's final environment, mounts and place. Its own `environment` and its command are
 * interpolated against ghostd's variables (ports, mounts, project) and the secrets, which is why
 * those come first.
 */
export function serviceContext({ project, service, driver, ports, secrets, hostEnv, projectPlan }: ContextSources): ServiceContext {
  const layout = new StateLayout(project.statePath);
  const mounts: ResolvedMount[] = service.mounts.map((mount) => ({ kind: mount.kind, target: mount.target, readOnly: mount.readOnly, hostPath: layout.hostPath(mount) }));
  const variables: Record<string, string> = {
    ...inherited(hostEnv),
    GHOSTD_PROJECT_ID: project.projectId,
    GHOSTD_NAMESPACE: project.namespace,
    GHOSTD_SERVICE: service.name,
    HOST: "127.0.0.1",
    ...portVariables(service.name, ports),
  };
  for (const mount of mounts) variables[mountVariable(mount.target)] = driver.visiblePath(mount);
  Object.assign(variables, secrets);
  const env: Record<string, string> = { ...variables };
  const resolve = (text: string, from: Record<string, string>): string => resolved(service.name, text, from);
  for (const [key, value] of Object.entries(service.environment)) env[key] = resolve(value, variables);
  return {
    projectId: project.projectId,
    namespace: project.namespace,
    packagePath: project.packagePath,
    service: { ...service, entrypoint: service.entrypoint.map((a) => resolve(a, env)), command: service.command.map((a) => resolve(a, env)) },
    env,
    mounts,
    network: {
      services: projectPlan.services.map((s) => s.name),
      ports: ports.map(({ hostPort, protocol, serviceName, containerPort }) => ({ hostPort, protocol, service: serviceName, containerPort })),
      egress: projectPlan.egress,
    },
  };
}

function resolved(service: string, text: string, variables: Record<string, string> | Lookup): string {
  try {
    return interpolate(text, variables);
  } catch (err) {
    throw err instanceof InterpolationError ? supervisorError("MISSING_SECRET", `${service}: ${err.message}`) : err;
  }
}

/**
 * MISSING_SECRET before anything starts when a service's environment or command demands a
 * variable (`${DB_PASSWORD:?set it}`) that neither the secrets nor ghostd's own variables give.
 */
export function checkRequiredVariables(services: readonly ServicePlan[], secrets: Readonly<Record<string, string>>): void {
  const given = (name: string): string | undefined => (Object.hasOwn(secrets, name) ? secrets[name] : name.startsWith("GHOSTD_") || name === "PORT" || name === "HOST" || INHERITED_ENV.includes(name) ? "given" : undefined);
  for (const service of services) {
    for (const text of [...Object.values(service.environment), ...service.entrypoint, ...service.command]) resolved(service.name, text, given);
  }
}

function inherited(hostEnv: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = hostEnv[name];
    if (value !== undefined) variables[name] = value;
  }
  return variables;
}

/** GHOSTD_PORT_<SERVICE>_<port> for every service; GHOSTD_PORT_<port>, and PORT (its first), for its own. */
function portVariables(service: string, ports: readonly PortRow[]): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const port of ports) variables[`GHOSTD_PORT_${envName(port.serviceName)}_${port.containerPort}`] = String(port.hostPort);
  const own = ports.filter((p) => p.serviceName === service);
  for (const port of own) variables[`GHOSTD_PORT_${port.containerPort}`] = String(port.hostPort);
  if (own[0]) variables.PORT = String(own[0].hostPort);
  return variables;
}

function envName(service: string): string {
  return service.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}
