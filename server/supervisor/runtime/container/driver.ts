import type Docker from "dockerode";
import type { ServicePlan } from "../../plan";
import { supervisorError } from "../../reasons";
import {
  cannotRun,
  type AdoptedTask,
  type Cancellable,
  type ExecOptions,
  type Exit,
  type OutputSink,
  type PrepareOptions,
  type Prepared,
  type ResolvedMount,
  type RunningTask,
  type RuntimeDriver,
  type ServiceContext,
  type ServiceProblem,
  type StopOptions,
  type TaskHandle,
  type TaskInfo,
} from "../driver";
import { graceRunsOut } from "../grace";
import { buildTarget, prepareBuiltImage } from "./build";
import type { Engine } from "./engine";
import { PortForwards } from "./forward";
import { prepareImages, type PullObserver, type PullProgress } from "./images";
import { containerName, LABEL_CONFIG, LABEL_SERVICE, namespaceFilter, networkName } from "./labels";
import { ensureNetwork, removeNetwork } from "./network";
import { PullNotes } from "./pull-notes";
import { configDigest, containerSpec } from "./spec";
import { execIn } from "./exec";
import { ExitWatch } from "./exits";
import { adoptContainer, engineReason, removeContainer, runContainer, signalContainer, statusOf, unlessGone } from "./task";

/** A container this daemon started. */
interface LiveContainer {
  readonly namespace: string;
  readonly service: string;
  readonly exited: Promise<Exit>;
  /** Settles once it has exited and been removed. */
  readonly gone: Promise<void>;
}

export interface ContainerRuntimeOptions {
  /** Where pull progress goes (the daemon's log); nowhere by default. */
  readonly progress?: PullProgress;
}

/**
 * The container runtime: each service a container on the Docker Engine API (Docker, or Podman's
 * compatible socket) through dockerode, never a CLI. A task is a container, named by the
 * engine's id, labelled with its project, namespace and service so that `list` finds what any
 * daemon started; the project's services share one network, made with the first start.
 */
export class ContainerRuntime implements RuntimeDriver {
  readonly name = "container";
  private readonly docker: Docker;
  private readonly live = new Map<string, LiveContainer>();
  private readonly forwards = new PortForwards();
  private readonly exits: ExitWatch;

  constructor(
    readonly engine: Engine,
    private readonly options: ContainerRuntimeOptions = {},
  ) {
    this.docker = engine.docker;
    this.exits = new ExitWatch(engine.docker);
  }

  problems(services: readonly ServicePlan[]): ServiceProblem[] {
    return services.flatMap((service): ServiceProblem[] => {
      // A plan stored by an older daemon says there is a build, not how: opening it again reads it.
      if (service.build && service.imageBuild === undefined) return [{ service: service.name, problem: "build: the plan does not say how to build; open the project again", kind: "runtime" }];
      if (service.image === undefined && service.imageBuild === undefined) return [{ service: service.name, problem: "the service has no image to run in a container", kind: "runtime" }];
      if (service.pullPolicy === "build" && service.imageBuild === undefined) return [{ service: service.name, problem: "pull_policy: build needs a build: section", kind: "runtime" }];
      return [];
    });
  }

  async prepare(services: readonly ServicePlan[], options: PrepareOptions = {}): Promise<Prepared> {
    const refused = this.problems(services);
    if (refused.length > 0) throw cannotRun(this.name, refused);
    const imagesPulled = await prepareImages(this.docker, services, pullNotes(services, this.options.progress, options.note), options.signal);
    imagesPulled.push(...(await buildImages(this.docker, services, options)));
    return { imagesPulled, warnings: [] };
  }

  async start(context: ServiceContext, output: OutputSink, options: Cancellable = {}): Promise<RunningTask> {
    options.signal?.throwIfAborted();
    const { service, namespace } = context;
    const image = imageOf(context);
    if (image === undefined) throw supervisorError("START_FAILED", `${service.name}: the service has no image to run in a container`);
    let id: string;
    let exited: Promise<Exit>;
    try {
      await ensureNetwork(this.docker, context.projectId, namespace, context.network.egress);
      // One left by a crash of this service (or of a daemon) would hold its name.
      await removeContainer(this.docker, containerName(namespace, service.name));
      ({ id, exited } = await runContainer(this.docker, containerSpec(context, image), output, this.exits));
    } catch (err) {
      throw supervisorError("START_FAILED", `${service.name}: the container engine refused it: ${engineReason(err)}`);
    }
    const gone = this.track(id, namespace, service.name, exited);
    if (!context.network.egress) await this.forward(id, context);
    if (options.signal?.aborted) {
      await this.remove({ driver: this.name, id });
      options.signal.throwIfAborted();
    }
    return { handle: { driver: this.name, id }, exited: gone };
  }

  async adopt(handle: TaskHandle, context: ServiceContext, output: OutputSink, since: Date | undefined): Promise<AdoptedTask | undefined> {
    const image = imageOf(context);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(handle.id).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
    const labels: Partial<Record<string, string>> = info.Config.Labels;
    if (image === undefined || !info.State.Running || labels[LABEL_CONFIG] !== configDigest(context, image)) return undefined;
    const { id } = handle;
    const exited = adoptContainer(this.docker, id, output, since, this.exits);
    const gone = this.track(id, context.namespace, context.service.name, exited);
    if (!context.network.egress) await this.forward(id, context);
    return { handle, exited: gone, startedAt: new Date(info.State.StartedAt) };
  }

  async stop(handle: TaskHandle, options: StopOptions): Promise<void> {
    const task = this.live.get(handle.id);
    if (!task) {
      await this.remove(handle);
      return;
    }
    await signalContainer(this.docker, handle.id, options.stopSignal);
    if (await graceRunsOut(task.exited, options.graceMs, options.signal)) await signalContainer(this.docker, handle.id, "SIGKILL");
    await task.gone;
  }

  async pause(handle: TaskHandle): Promise<void> {
    await unlessGone(() => this.docker.getContainer(handle.id).pause());
  }

  async resume(handle: TaskHandle): Promise<void> {
    await unlessGone(() => this.docker.getContainer(handle.id).unpause());
  }

  exec(context: ServiceContext, argv: readonly string[], options: ExecOptions): Promise<number> {
    const id = [...this.live].find(([, task]) => task.namespace === context.namespace && task.service === context.service.name)?.[0];
    return id === undefined ? Promise.resolve(127) : execIn(this.docker, id, argv, options);
  }

  async state(handle: TaskHandle): Promise<{ alive: boolean }> {
    try {
      const info = await this.docker.getContainer(handle.id).inspect();
      return { alive: info.State.Running };
    } catch (err) {
      if (statusOf(err) === 404) return { alive: false };
      throw err;
    }
  }

  async list(namespace: string, options: Cancellable = {}): Promise<TaskInfo[]> {
    options.signal?.throwIfAborted();
    const containers = await this.docker.listContainers({ all: true, filters: namespaceFilter(namespace) });
    return containers.map((c) => ({ handle: { driver: this.name, id: c.Id }, service: c.Labels[LABEL_SERVICE] }));
  }

  async remove(handle: TaskHandle): Promise<string | undefined> {
    this.forwards.closeAll(handle.id);
    const removed = await removeContainer(this.docker, handle.id);
    await this.live.get(handle.id)?.gone;
    return removed ? `container ${handle.id.slice(0, 12)}` : undefined;
  }

  /** The project's network and built images go with DeleteProjectRuntime (its containers are gone by then). */
  async removeNamespace(namespace: string): Promise<string[]> {
    const removed = await removeBuiltImages(this.docker, namespace);
    const network = await removeNetwork(this.docker, namespace);
    return network === undefined ? removed : [...removed, network];
  }

  async holdsPort(handle: TaskHandle, port: number, protocol: "tcp" | "udp"): Promise<boolean> {
    if (this.forwards.holds(handle.id, port)) return true;
    try {
      const info = await this.docker.getContainer(handle.id).inspect();
      // An engine gives null for an exposed port it publishes nowhere.
      const published: Partial<Record<string, readonly { HostPort: string }[] | null>> = info.NetworkSettings.Ports;
      const bindings = Object.entries(published).filter(([key]) => key.endsWith(`/${protocol}`));
      return info.State.Running && bindings.some(([, hosts]) => (hosts ?? []).some((h) => h.HostPort === String(port)));
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  visiblePath(mount: ResolvedMount): string {
    return mount.target;
  }

  displayId(handle: TaskHandle): string {
    return handle.id;
  }

  /**
   * A container this daemon watches; the exit it returns is told once the container is removed
   * too, so what follows an exit (a restart, a failed start's report) finds nothing of it left.
   */
  private track(id: string, namespace: string, service: string, exited: Promise<Exit>): Promise<Exit> {
    const gone = exited.then(() => this.ended(id));
    this.live.set(id, { namespace, service, exited, gone });
    return gone.then(() => exited);
  }

  /** A container ended on its own: it is removed, so its name is free for its next start. */
  private async ended(id: string): Promise<void> {
    this.forwards.closeAll(id);
    // An engine that fails the removal leaves it to the next start (same name) or a delete (label).
    await removeContainer(this.docker, id).catch(() => undefined);
    this.live.delete(id);
  }

  /** A project without egress has an internal network, which the engine publishes nothing of: ghostd forwards its TCP ports. */
  private async forward(id: string, context: ServiceContext): Promise<void> {
    const own = context.network.ports.filter((p) => p.service === context.service.name && p.protocol === "tcp");
    if (own.length === 0) return;
    try {
      const info = await this.docker.getContainer(id).inspect();
      const address = info.NetworkSettings.Networks[networkName(context.namespace)]?.IPAddress;
      if (!address) throw new Error("the container has no address on the project network");
      for (const port of own) await this.forwards.open(id, port.hostPort, address, port.containerPort);
    } catch (err) {
      await this.remove({ driver: this.name, id });
      throw supervisorError("START_FAILED", `${context.service.name}: its ports cannot be forwarded: ${(err as Error).message}`);
    }
  }
}

/** The image a service's container runs: its own, or the one built for it. */
function imageOf({ service, namespace }: ServiceContext): string | undefined {
  return service.imageBuild === undefined ? service.image : buildTarget(namespace, service);
}

/**
 * Pull progress to the daemon's log (every event), and to the log of each service of the image
 * as the bounded, parseable lines of pull-notes.ts.
 */
function pullNotes(services: readonly ServicePlan[], progress: PullProgress | undefined, note: ((service: string, text: string) => void) | undefined): PullObserver {
  const notes = new PullNotes((image, line) => {
    for (const service of services.filter((s) => s.image === image)) note?.(service.name, line);
  });
  return {
    started: (image) => notes.started(image),
    event: (image, event) => {
      progress?.(image, event);
      notes.event(image, event);
    },
    pulled: (image, detail) => notes.pulled(image, detail),
    failed: (image, reason) => notes.failed(image, reason),
  };
}

/**
 * Gets the images of the services that have a build, one by one, by their pull policies (built,
 * or an image of their `image:` name used); says which it pulled. A failed build is
 * IMAGE_PULL_FAILED (OpenProject's one reason for what it cannot prepare) with its last lines.
 */
async function buildImages(docker: Docker, services: readonly ServicePlan[], options: PrepareOptions): Promise<string[]> {
  const pulled: string[] = [];
  for (const service of services) {
    const { imageBuild } = service;
    if (imageBuild === undefined) continue;
    options.signal?.throwIfAborted();
    if (!options.project) throw supervisorError("IMAGE_PULL_FAILED", `${service.name}: a build needs its project's package`);
    const note = (text: string): void => options.note?.(service.name, text);
    try {
      if ((await prepareBuiltImage(docker, options.project, { ...service, imageBuild }, note)).pulled) pulled.push(service.image ?? "");
    } catch (err) {
      throw supervisorError("IMAGE_PULL_FAILED", `${service.name}: the build failed: ${engineReason(err)}`, { services: service.name });
    }
  }
  return pulled;
}

/**
 * Removes the images ghostd built for a namespace (labelled with it), by their tags, never by
 * force: a service of another project may run one under its `image:` name, and a forced removal
 * (Podman's) would remove that project's container with it. Such an image is kept.
 */
async function removeBuiltImages(docker: Docker, namespace: string): Promise<string[]> {
  const removed: string[] = [];
  for (const image of await docker.listImages({ filters: namespaceFilter(namespace) })) {
    const tags = (image.RepoTags ?? []).filter((tag) => tag !== "<none>:<none>");
    for (const name of tags.length === 0 ? [image.Id] : tags) {
      if (await unlessGone(() => docker.getImage(name).remove())) removed.push(`image ${name}`);
    }
  }
  return removed;
}
