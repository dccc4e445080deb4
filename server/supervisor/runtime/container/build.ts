import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import type { BuildPlan } from "../../plan";
import type { PullEvent } from "./images";
import { resourceLabels } from "./labels";

/** What a build needs to know of its project. */
export interface BuildProject {
  readonly projectId: string;
  readonly namespace: string;
  readonly packagePath: string;
}

/** The tag of a service's built image: per project, so two projects' builds never meet. */
export function builtImage(namespace: string, service: string): string {
  return `localhost/${namespace}-${service.toLowerCase()}:ghostd`;
}

/** A build's failure, with its last lines: what a user needs to fix the Dockerfile. */
export class BuildFailed extends Error {}

/**
 * Builds a service's image through the engine's build API from its context directory in the
 * package (every file of it is sent; `.dockerignore` is not read), labelled as ghostd's so a
 * delete finds it. Progress lines go to `progress`; a failure carries the build's last lines.
 */
export async function buildServiceImage(docker: Docker, project: BuildProject, service: string, plan: BuildPlan, progress: (event: PullEvent) => void): Promise<string> {
  const tag = builtImage(project.namespace, service);
  const context = join(project.packagePath, plan.context);
  const stream = await docker.buildImage(
    { context, src: filesUnder(context) },
    {
      t: tag,
      // Relative to the context, as Compose reads it.
      ...(plan.dockerfile === undefined ? {} : { dockerfile: plan.dockerfile }),
      ...(plan.target === undefined ? {} : { target: plan.target }),
      buildargs: { ...plan.args },
      labels: resourceLabels(project.projectId, project.namespace, service),
      rm: true,
    },
  );
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

/** Every file under a directory, relative to it, as the build API's context is made of. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((file) => statSync(join(dir, file)).isFile());
}
