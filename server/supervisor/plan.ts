/** What a project runs: its services, in start order, as any runtime driver takes them. */

export type Protocol = "tcp" | "udp";

export interface PortPlan {
  readonly containerPort: number;
  readonly protocol: Protocol;
  /** A host port the project asks for by number; allocated from the range otherwise. */
  readonly hostPort?: number;
  /** Compose's `8000-9000:80`: any free host port of this range, instead of ghostd's range. */
  readonly hostRange?: { readonly from: number; readonly to: number };
  /** `none`: the port is internal (compose `expose`), nothing is allocated for it. */
  readonly exposure: "auto" | "none";
}

export interface MountPlan {
  /** A named volume under current/volumes, files copied under current/files, or a tmpfs. */
  readonly kind: "volume" | "files" | "tmpfs";
  /** Volume name, or the path relative to the package (and to current/files). */
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface HealthPlan {
  /** The command, as argv: CMD as given, CMD-SHELL as `/bin/sh -c <line>`. */
  readonly test: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
}

export type Condition = "service_started" | "service_healthy" | "service_completed_successfully";

export interface DependencyPlan {
  readonly service: string;
  readonly condition: Condition;
  readonly required: boolean;
}

export interface RestartPlan {
  readonly policy: "no" | "always" | "on-failure" | "unless-stopped";
  /** For on-failure: restarts before the service counts as failed. */
  readonly maxRetries?: number;
}

export interface ServicePlan {
  readonly name: string;
  /** The runtime driver that runs it, by name; the daemon's default (the process runtime) when unset. */
  readonly runtime?: string;
  readonly image?: string;
  /** Compose `build:`: the image is to be built from the package; whether a runtime can is its call. */
  readonly build?: boolean;
  readonly entrypoint: readonly string[];
  readonly command: readonly string[];
  /** Values may hold `${VAR}` references, resolved when the service starts. */
  readonly environment: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  readonly user?: string;
  readonly ports: readonly PortPlan[];
  readonly mounts: readonly MountPlan[];
  readonly dependsOn: readonly DependencyPlan[];
  readonly healthcheck?: HealthPlan;
  readonly restart: RestartPlan;
  readonly stopSignal: string;
  readonly stopGraceMs?: number;
  /** Compose `labels`, kept on the service's container (a container runtime's only). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Compose `init`: an init process reaps and passes signals (a container runtime's only). */
  readonly init?: boolean;
  /** Compose `read_only`: the image's file system is read-only (a container runtime's only). */
  readonly readOnly?: boolean;
  /** Compose `pull_policy`; `missing` when unset. */
  readonly pullPolicy?: PullPolicy;
  /** Compose network aliases: more names the service is reached by on the project network. */
  readonly aliases?: readonly string[];
  /** Compose `build:` as a container runtime builds it (`build` says only that there is one). */
  readonly imageBuild?: BuildPlan;
}

/** An image to build from the package: its context directory, relative to the package, and the build's settings. */
export interface BuildPlan {
  readonly context: string;
  /** Relative to the context, as Compose reads it. */
  readonly dockerfile?: string;
  readonly args: Readonly<Record<string, string>>;
  readonly target?: string;
}

/** When an image is pulled: `missing` (unless there), `always`, `never` (must be there), `build` (built, never pulled). */
export type PullPolicy = "missing" | "always" | "never" | "build";

export interface SecretPlan {
  readonly name: string;
  readonly required: boolean;
}

export interface ProjectPlan {
  readonly mode: "native" | "compose";
  /** In start order: every service after what it depends on. */
  readonly services: readonly ServicePlan[];
  readonly volumes: readonly string[];
  readonly secrets: readonly SecretPlan[];
  readonly warnings: readonly string[];
  /** The manifest's security.network: services may reach beyond this machine. */
  readonly egress: boolean;
}

/**
 * Orders services so each comes after what it depends on; a cycle is reported with its members.
 * Returns the order, or the problem.
 */
export function startOrder(services: readonly ServicePlan[]): { order: ServicePlan[] } | { cycle: string[] } {
  const byName = new Map(services.map((s) => [s.name, s]));
  const order: ServicePlan[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (service: ServicePlan, path: string[]): string[] | undefined => {
    const seen = state.get(service.name);
    if (seen === "done") return undefined;
    if (seen === "visiting") return [...path.slice(path.indexOf(service.name)), service.name];
    state.set(service.name, "visiting");
    for (const dependency of service.dependsOn) {
      const next = byName.get(dependency.service);
      if (!next) continue;
      const cycle = visit(next, [...path, service.name]);
      if (cycle) return cycle;
    }
    state.set(service.name, "done");
    order.push(service);
    return undefined;
  };
  for (const service of services) {
    const cycle = visit(service, []);
    if (cycle) return { cycle };
  }
  return { order };
}
