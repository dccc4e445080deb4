import { createHash } from "node:crypto";
import { isDirectory } from "../executables";
import { isAbsolute } from "node:path";
import { loadPlan, readManifest } from "./plan-loader";
import { supervisorError } from "./reasons";
import type { ProjectRow, Registry } from "./registry";
import { StateLayout } from "./state-layout";

export const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** What EnsureProject asks to register. */
export interface Registration {
  readonly projectId: string;
  readonly appId: string;
  readonly packagePath: string;
  /** Empty for the project's place under GHOSTD_HOME (or, registered, the place it has). */
  readonly statePath: string;
  /** The manifest's text, else the package's own file is read. */
  readonly manifest?: string | undefined;
}

/**
 * Registers a project, or checks a registered one is ensured as what it is and takes its
 * manifest anew. Nothing is written unless the package loads and the state path can hold state.
 */
export function registerProject(registry: Registry, home: string, request: Registration): { projectId: string; namespace: string; created: boolean } {
  const { projectId, packagePath } = request;
  checkArguments(request);
  const existing = registry.project(projectId);
  if (existing) checkSameRegistration(existing, request);
  if (!isDirectory(packagePath)) throw supervisorError("PATH_NOT_FOUND", `package_path ${packagePath} is not a directory`);
  const layout = StateLayout.of(home, projectId, request.statePath || existing?.statePath);
  const source = request.manifest ?? readManifest(packagePath);
  const { manifest, plan } = loadPlan(source, packagePath);
  if (request.appId !== manifest.id) throw supervisorError("INVALID_MANIFEST", `app_id ${request.appId} does not match the manifest's id ${manifest.id}`);
  layout.create(manifest.state.volumes.map((v) => v.name));
  const namespace = namespaceOf(projectId);
  if (existing) registry.updateManifest(projectId, source, manifest.name, manifest.version, plan.services.length);
  else registry.insertProject({ projectId, appId: manifest.id, packagePath, statePath: layout.root, manifest: source, name: manifest.name, version: manifest.version, namespace, serviceCount: plan.services.length });
  return { projectId, namespace, created: !existing };
}

/** `ghostd-<project id, slugged>-<hash>`: readable, and unique even where two ids slug alike. */
export function namespaceOf(projectId: string): string {
  const slug = projectId.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return `ghostd-${slug || "project"}-${createHash("sha256").update(projectId).digest("hex").slice(0, 8)}`;
}

/** The arguments that are malformed whatever is registered: told before anything else. */
function checkArguments(request: Registration): void {
  if (!PROJECT_ID.test(request.projectId)) throw supervisorError("INVALID_ARGUMENT", `project_id "${request.projectId}" must be letters, digits, ".", "_" or "-" (at most 128)`);
  if (!isAbsolute(request.packagePath)) throw supervisorError("INVALID_ARGUMENT", `package_path "${request.packagePath}" must be an absolute path`);
  if (request.statePath && !isAbsolute(request.statePath)) throw supervisorError("INVALID_ARGUMENT", `state_path "${request.statePath}" must be an absolute path`);
}

/**
 * A registered project is ensured again only as what it is: another app or package, or a
 * state_path given and different, is CONFLICT whatever the package now holds. An omitted
 * state_path means the one it has.
 */
function checkSameRegistration(existing: ProjectRow, request: Registration): void {
  const differs = [
    existing.appId !== request.appId && `app_id ${existing.appId}`,
    existing.packagePath !== request.packagePath && `package_path ${existing.packagePath}`,
    request.statePath && existing.statePath !== request.statePath && `state_path ${existing.statePath}`,
  ].filter(Boolean);
  if (differs.length > 0) throw supervisorError("CONFLICT", `project ${request.projectId} is registered with ${differs.join(", ")}`);
}

