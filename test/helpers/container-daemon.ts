import type Docker from "dockerode";
import type { SupervisorClient } from "../../generated/ghostd/supervisor/v1/supervisor";
import { spawnDaemon, type DaemonProcess } from "./daemon";
import { removeLabelled, requireEngine } from "./engine";
import { removeImages, requireRegistry } from "./registry";
import { supervisorClient } from "./supervisor";
import { supervisorCalls, type SupervisorCalls } from "./supervisor-calls";
import { tempDir } from "./tmp";

export interface ContainerDaemonOptions {
  /** The daemon's --port-range: each file has its own, as files run side by side on one machine. */
  readonly portRange: string;
  /** What makes each image the tests run ready on the engine (ensureBusyboxImage...), in this order. */
  readonly images?: readonly ((docker: Docker) => Promise<unknown>)[];
  /** Whether the tests pull from the tests' registry too: without it they skip (or fail in CI) as without an engine. */
  readonly registry?: boolean;
  /**
   * The daemon's arguments after `--runtime container --port-range ...`; `--log-level warn` when
   * not given, since the tests read the projects' logs over gRPC, not the daemon's own.
   */
  readonly args?: readonly string[];
}

/** A describe block's daemon on the real engine; its fields are there once `before` has run. */
export interface ContainerDaemon {
  readonly docker: Docker;
  /** host:port of the tests' registry, when the options asked for it. */
  readonly registry: string;
  /** The daemon now running: restart() replaces it. */
  readonly daemon: DaemonProcess;
  /** A client of the daemon now running: restart() replaces it. */
  readonly client: SupervisorClient;
  /** The unary calls, always on the current client: these may be taken apart when the block is declared. */
  readonly calls: SupervisorCalls;
  /** A scratch directory for packages and state, removed in `after`. */
  readonly work: { readonly path: string };
  /** Has `after` remove whatever of the project is left on the engine (by its label); returns the id. */
  track(projectId: string): string;
  /** Has `after` remove this image name, whoever made it; returns the name. */
  trackImage(reference: string): string;
  /** Stops the daemon with `signal` and starts another on the same home, with a client of its own. */
  restart(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Registers the `before` and `after` of a describe block whose tests talk to a daemon running
 * `--runtime container` on the real engine. Without an engine `before` skips the block (CI fails
 * it instead), and `after` undoes only what was done.
 */
export function containerDaemon(options: ContainerDaemonOptions): ContainerDaemon {
  const run = new ContainerRun(options);
  before(async function () {
    await run.setUp(this);
  });
  after(() => run.tearDown());
  return run;
}

class ContainerRun implements ContainerDaemon {
  readonly calls = supervisorCalls(() => this.client);
  private readonly projects: string[] = [];
  private readonly images: string[] = [];
  private found?: { docker: Docker; registry: string };
  /** The first daemon owns the home every later one reuses: its cleanup removes it. */
  private first?: DaemonProcess;
  private current?: { daemon: DaemonProcess; client: SupervisorClient };
  private scratch?: ReturnType<typeof tempDir>;

  constructor(private readonly options: ContainerDaemonOptions) {}

  get docker(): Docker {
    return this.ready(this.found).docker;
  }
  get registry(): string {
    return this.ready(this.found).registry;
  }
  get daemon(): DaemonProcess {
    return this.ready(this.current).daemon;
  }
  get client(): SupervisorClient {
    return this.ready(this.current).client;
  }
  get work(): { readonly path: string } {
    return this.ready(this.scratch);
  }

  track(projectId: string): string {
    this.projects.push(projectId);
    return projectId;
  }

  trackImage(reference: string): string {
    this.images.push(reference);
    return reference;
  }

  async setUp(context: Mocha.Context): Promise<void> {
    const docker = await requireEngine(context);
    const registry = this.options.registry === true ? await requireRegistry(context) : "";
    this.found = { docker, registry };
    for (const ensure of this.options.images ?? []) await ensure(docker);
    this.scratch = tempDir();
    this.first = await this.spawn();
    this.current = { daemon: this.first, client: supervisorClient(this.first.endpoints.grpc ?? "") };
  }

  async restart(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const { daemon, client } = this.ready(this.current);
    await daemon.stop(signal);
    const next = await this.spawn(daemon.home);
    client.close();
    this.current = { daemon: next, client: supervisorClient(next.endpoints.grpc ?? "") };
  }

  /** Each step only if its part was set up: a skipped or failed `before` leaves some out. */
  async tearDown(): Promise<void> {
    this.current?.client.close();
    await this.current?.daemon.stop();
    this.first?.cleanup();
    if (this.found) {
      for (const id of this.projects) await removeLabelled(this.found.docker, `ghostd.project=${id}`);
      await removeImages(this.found.docker, this.images);
    }
    this.scratch?.remove();
  }

  private spawn(home?: string): Promise<DaemonProcess> {
    const args = ["--runtime", "container", "--port-range", this.options.portRange, ...(this.options.args ?? ["--log-level", "warn"])];
    return spawnDaemon({ args, home });
  }

  private ready<T>(part: T | undefined): T {
    if (part === undefined) throw new Error("containerDaemon: used before its before() ran (or that before skipped)");
    return part;
  }
}
