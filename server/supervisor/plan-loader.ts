import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DomainError } from "../errors";
import { COMPOSE_FILES, importCompose } from "./compose";
import { DocumentError, parseYaml } from "./documents";
import { envFileVariables } from "./env-file";
import { InterpolationError } from "./interpolate";
import { MANIFEST_FILES, parseManifest, type Manifest } from "./manifest";
import { startOrder, type ProjectPlan, type ServicePlan } from "./plan";
import { supervisorError, underReason } from "./reasons";

export interface LoadedPlan {
  readonly manifest: Manifest;
  readonly plan: ProjectPlan;
}

/** A manifest's text as a validated manifest; every problem is INVALID_MANIFEST. */
export function parseManifestText(source: string): Manifest {
  let document: unknown;
  try {
    document = parseYaml(source, "the manifest");
  } catch (err) {
    throw supervisorError("INVALID_MANIFEST", err instanceof DocumentError ? err.message : String(err));
  }
  const parsed = parseManifest(document);
  if ("problems" in parsed) throw supervisorError("INVALID_MANIFEST", `the manifest has ${parsed.problems.length} problem${parsed.problems.length > 1 ? "s" : ""}: ${parsed.problems.join("; ")}`);
  return parsed.manifest;
}

/** The package's own manifest, for an EnsureProject that carries none. */
export function readManifest(packagePath: string): string {
  const file = MANIFEST_FILES.map((f) => join(packagePath, f)).find((f) => existsSync(f));
  if (!file) throw supervisorError("INVALID_MANIFEST", `no manifest: ${packagePath} has no ${MANIFEST_FILES.join(" or ")}, and the request carries none`);
  return readFileSync(file, "utf8");
}

/** A manifest's text as a validated manifest and its plan, against the package as it is now; every problem is INVALID_MANIFEST. */
export function loadPlan(source: string, packagePath: string): LoadedPlan {
  const manifest = parseManifestText(source);
  return { manifest, plan: manifest.runtime.mode === "native" ? nativePlan(manifest) : composePlan(manifest, packagePath) };
}

/**
 * A registered project's plan, from its manifest and the package as it is now. A package that
 * stopped loading since EnsureProject leaves nothing to prepare: OpenProject's contract tells
 * that as IMAGE_PULL_FAILED, with INVALID_MANIFEST as its cause.
 */
export function loadRegisteredPlan(source: string, packagePath: string): LoadedPlan {
  try {
    return loadPlan(source, packagePath);
  } catch (err) {
    throw err instanceof DomainError ? underReason("IMAGE_PULL_FAILED", err, `the package ${packagePath} no longer loads: ${err.message}; fix it, or call EnsureProject again`) : err;
  }
}

/** A dependency on a service with a healthcheck waits for it to be healthy, as Compose's long form would say. */
function nativePlan(manifest: Manifest): ProjectPlan {
  const withHealth = new Set(manifest.services.filter((s) => s.healthcheck).map((s) => s.name));
  const services: ServicePlan[] = manifest.services.map((s) => ({
    ...s,
    dependsOn: s.dependsOn.map((d) => ({ ...d, condition: withHealth.has(d.service) ? ("service_healthy" as const) : d.condition })),
  }));
  const order = startOrder(services);
  if ("cycle" in order) throw supervisorError("INVALID_MANIFEST", `dependsOn has a cycle: ${order.cycle.join(" -> ")}`);
  return { mode: "native", services: order.order, volumes: manifest.state.volumes.map((v) => v.name), secrets: manifest.secrets, warnings: [], egress: manifest.security.network };
}

function composePlan(manifest: Manifest, packagePath: string): ProjectPlan {
  const file = manifest.runtime.composeFile ?? COMPOSE_FILES.find((f) => existsSync(join(packagePath, f)));
  if (!file || !existsSync(join(packagePath, file))) {
    throw supervisorError("INVALID_MANIFEST", `compose mode needs a compose file: ${manifest.runtime.composeFile ?? COMPOSE_FILES.join(", ")} not found in ${packagePath}`);
  }
  const variables = projectVariables(join(packagePath, dirname(file), ".env"));
  const imported = importCompose(readFileSync(join(packagePath, file), "utf8"), { readPackageFile: (relative) => readIfThere(join(packagePath, relative)), variables: (name) => variables.get(name) });
  if (!imported.valid) throw supervisorError("INVALID_MANIFEST", `${file} cannot be imported: ${imported.report.errors.join("; ")}`);
  const rejected = imported.report.rejected.map((f) => `${f.path}: ${f.reason}`);
  return { mode: "compose", services: imported.services, volumes: imported.volumes, secrets: manifest.secrets, warnings: [...imported.report.warnings, ...rejected], egress: manifest.security.network };
}

/**
 * The variables a package's compose file is interpolated with: its `.env`, beside the file, as
 * Compose reads one. Not the daemon's own environment: a package comes from anyone, and would
 * read any of the daemon's variables with `${NAME}` (into an image name it pulls, say).
 */
function projectVariables(path: string): Map<string, string> {
  const content = readIfThere(path);
  try {
    return content === undefined ? new Map<string, string>() : envFileVariables(content);
  } catch (err) {
    throw err instanceof InterpolationError ? supervisorError("INVALID_MANIFEST", `.env: ${err.message}`) : err;
  }
}

function readIfThere(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/**
 * Whether a registered project autosaves, from its manifest parsed once per text (GetProjectStatus
 * asks each call). A manifest this daemon no longer accepts (stricter rules since it was
 * registered) autosaves nothing: GetProjectStatus, whose only reason is NOT_FOUND, still answers,
 * and OpenProject says what is wrong.
 */
export class AutosaveSettings {
  private readonly known = new Map<string, { source: string; enabled: boolean }>();

  constructor(private readonly invalid: (projectId: string, err: unknown) => void) {}

  of(projectId: string, source: string): boolean {
    const cached = this.known.get(projectId);
    if (cached?.source === source) return cached.enabled;
    let enabled = false;
    try {
      enabled = parseManifestText(source).state.autosave;
    } catch (err) {
      this.invalid(projectId, err);
    }
    this.known.set(projectId, { source, enabled });
    return enabled;
  }
}
