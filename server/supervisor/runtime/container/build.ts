import { join } from "node:path";
import type Docker from "dockerode";
import type { BuildPlan, ServicePlan } from "../../plan";
import { contextEntries, packContext } from "./context";
import { imagePresent, pullImage, type PullEvent } from "./images";
import { resourceLabels } from "./labels";
import { engineReason } from "./task";

/** What a build needs to know of its project. */
export interface BuildProject {
  readonly projectId: string;
  readonly namespace: string;
  readonly packagePath: string;
}

/** The tag of a service's built image when it names none: per project, so two projects' builds never meet. */
export function builtImage(namespace: string, service: string): string {
  return `localhost/${namespace}-${service.toLowerCase()}:ghostd`;
}

/** The image a service with a build runs: its `image:`, which Compose tags the build with, else the per-project tag. */
export function buildTarget(namespace: string, service: Pick<ServicePlan, "name" | "image">): string {
  return service.image ?? builtImage(namespace, service.name);
}

/** A build's failure, with its last lines: what a user needs to fix the Dockerfile. */
export class BuildFailed extends Error {}

/**
 * Gets the image a service with a build runs, as Compose does for `build:` with `image:`:
 * `pull_policy: build` always builds; otherwise an image of that name that is there (pulled
 * first, unless the policy is `never`, as Compose tries the registry before it builds) is used
 * as it is. A build without `image:` has only ghostd's per-project tag, so it is built at every
 * open. Says whether it pulled; a failed pull is only noted, the build then makes the image.
 */
export async function prepareBuiltImage(docker: Docker, project: BuildProject, service: ServicePlan & { imageBuild: BuildPlan }, note: (text: string) => void): Promise<{ pulled: boolean }> {
  const decision = await decide(docker, service, note);
  if (!decision.build) {
    note(`using image ${service.image ?? ""}, which is there already (pull_policy: ${service.pullPolicy ?? "missing"}); pull_policy: build builds it anew`);
    return { pulled: decision.pulled };
  }
  await buildServiceImage(docker, project, service, (event) => note(`building: ${event.status ?? event.error ?? ""}`));
  return { pulled: false };
}

type BuildDecision = { readonly build: true } | { readonly build: false; readonly pulled: boolean };

/** Whether to build, by the pull policy, after a pull where Compose would try one. */
async function decide(docker: Docker, service: ServicePlan, note: (text: string) => void): Promise<BuildDecision> {
  const policy = service.pullPolicy ?? "missing";
  const image = service.image;
  if (image === undefined || policy === "build") return { build: true };
  let pulled = false;
  if (policy === "always" || (policy === "missing" && !(await imagePresent(docker, image)))) {
    note(`pulling ${image} (built here if no registry has it)`);
    pulled = await pullImage(docker, image, () => undefined).then(
      () => true,
      (err: unknown) => {
        note(`pulling ${image} failed: ${engineReason(err)}`);
        return false;
      },
    );
  }
  return (await imagePresent(docker, image)) ? { build: false, pulled } : { build: true };
}

/**
 * Builds a service's image through the engine's build API from its context directory in the
 * package (less what its `.dockerignore` excludes), tagged with its build target and labelled as
 * ghostd's, so a delete finds it. Progress lines go to `progress`; a failure carries the build's
 * last lines.
 */
export async function buildServiceImage(docker: Docker, project: BuildProject, service: ServicePlan & { imageBuild: BuildPlan }, progress: (event: PullEvent) => void): Promise<string> {
  const plan = service.imageBuild;
  const tag = buildTarget(project.namespace, service);
  const context = join(project.packagePath, plan.context);
  const stream = await docker.buildImage(packContext(context, contextEntries(context, plan.dockerfile)), {
    t: tag,
    // Relative to the context, as Compose reads it.
    ...(plan.dockerfile === undefined ? {} : { dockerfile: plan.dockerfile }),
    ...(plan.target === undefined ? {} : { target: plan.target }),
    buildargs: { ...plan.args },
    labels: resourceLabels(project.projectId, project.namespace, service.name),
    rm: true,
  });
  const lines: string[] = [];
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: PullEvent & { stream?: string }) => {
        const line = event.stream?.trim();
        if (line) lines.push(line);
        if (event.error !== undefined) failure = event.errorDetail?.message ?? event.error;
        progress(line ? { status: line } : event);
      },
    );
  });
  if (failure !== undefined) throw new BuildFailed(`${failure}; last lines: ${lines.slice(-5).join(" | ")}`);
  return tag;
}
