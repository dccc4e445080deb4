import type { Logger } from "pino";
import type { ServicePlan } from "../plan";
import { ContainerRuntime } from "./container/driver";
import { engineCandidates, findEngine, NoEngine } from "./container/engine";
import { ProcessRuntime, type ProcessRuntimeOptions } from "./process";
import { DEFAULT_RUNTIME, RuntimeRegistry } from "./runtimes";

/**
 * `--runtime`: `auto` runs image services in containers when an engine answers, `container`
 * demands an engine (the daemon does not start without one), `process` runs every service as
 * a process (an image service's command, if it has one).
 */
export type RuntimeMode = "auto" | "process" | "container";

export const RUNTIME_MODES: readonly RuntimeMode[] = ["auto", "process", "container"];

/** Which services go to the container runtime, when there is one: those with an image or a build. */
export function runsInContainer(service: ServicePlan): boolean {
  return service.image !== undefined || service.build === true;
}

export interface RuntimeChoice {
  readonly mode: RuntimeMode;
  readonly process: Omit<ProcessRuntimeOptions, "withoutContainers" | "imagesAsProcesses">;
  /** Where DOCKER_HOST and XDG_RUNTIME_DIR are read (the daemon's own environment). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
}

/** The runtime drivers of this daemon by its `--runtime`: the process runtime, and the container one when an engine answers. */
export async function chooseRuntimes(choice: RuntimeChoice): Promise<RuntimeRegistry> {
  const { mode, logger } = choice;
  if (mode === "process") return new RuntimeRegistry([new ProcessRuntime({ ...choice.process, withoutContainers: "ghostd runs with --runtime process", imagesAsProcesses: true })]);
  try {
    const engine = await findEngine(engineCandidates(choice.env));
    logger.info({ engine: engine.address, version: engine.version }, `container runtime: ${engine.version} at ${engine.address}`);
    const containers = new ContainerRuntime(engine, { progress: (image, event) => logger.debug({ image, ...event }, "pulling") });
    const processes = new ProcessRuntime({ ...choice.process, withoutContainers: undefined });
    return new RuntimeRegistry([processes, containers], DEFAULT_RUNTIME, (service) => (runsInContainer(service) ? containers.name : undefined));
  } catch (err) {
    if (!(err instanceof NoEngine)) throw err;
    if (mode === "container") throw new Error(`--runtime container: ${err.message}; start Docker or Podman's API service, or set DOCKER_HOST`, { cause: err });
    logger.info(`no container runtime: ${err.message}`);
    const why = `${err.message}; start Docker or Podman's API service (or set DOCKER_HOST) and restart ghostd`;
    return new RuntimeRegistry([new ProcessRuntime({ ...choice.process, withoutContainers: why, imagesAsProcesses: false })]);
  }
}
