import { join } from "node:path";
import type { Logger } from "pino";
import { SupervisorProgressService } from "../../generated/ghostd/supervisor/v1/progress";
import { SupervisorService, type SupervisorServer } from "../../generated/ghostd/supervisor/v1/supervisor";
import { bindService, opening, serverStream, unary, type ServiceBinding } from "../rpc/bind";
import { importPackageResponse } from "./package-contract";
import type { PackageLimits } from "./packages/entry-rules";
import { PackageLibrary } from "./packages/library";
import { Registry } from "./registry";
import { progressMessage } from "./snapshot-contract";
import { Supervisor, type SupervisorSettings } from "./supervisor";
import { validateCompose } from "./validate-compose";

export type SupervisorDeps = Omit<SupervisorSettings, "registry"> & { readonly logger: Logger; readonly packageLimits?: PackageLimits };

/**
 * gRPC bindings of ghostd.supervisor.v1.Supervisor and SupervisorProgress over the Supervisor
 * domain module; the first binding's close closes the supervisor.
 */
export function supervisorServices(deps: SupervisorDeps): ServiceBinding[] {
  const registry = new Registry(join(deps.home, "registry.db"));
  const supervisor = new Supervisor({ ...deps, registry });
  const packages = new PackageLibrary(deps.home, registry.packages, deps.packageLimits);
  const { logger } = deps;
  // Projects that were running when the daemon stopped come back, without holding the start-up.
  void supervisor.reconcile().catch((err: unknown) => logger.error({ err }, "reconciling projects failed"));
  const handlers: Partial<SupervisorServer> = {
    ensureProject: unary(logger, (req) => supervisor.ensure(req)),
    openProject: unary(logger, (req) => supervisor.open(req.projectId)),
    startProject: unary(logger, (req) => supervisor.start(req.projectId, req.secrets)),
    stopProject: unary(logger, (req) => supervisor.stop(req.projectId, req.timeoutSeconds)),
    deleteProjectRuntime: unary(logger, (req) => supervisor.deleteRuntime(req.projectId, req.force)),
    listProjects: unary(logger, (req) => supervisor.list(req.filterStatus)),
    getProjectStatus: unary(logger, (req) => supervisor.describe(req.projectId)),
    // Opened first, so an unknown project fails the call before the stream opens.
    getProjectLogs: serverStream(logger, (req, { signal }) => opening(() => supervisor.logs(req.projectId, req.serviceName, req.follow, req.tailLines, signal))),
    validateCompose: unary(logger, (req) => validateCompose(req.composeContent, deps.runtimes)),
    resolvePorts: unary(logger, (req) => supervisor.resolvePorts(req.projectId, req.refresh)),
    saveSnapshot: unary(logger, (req) => supervisor.snapshots.save(req.projectId, req.reason, req.labels)),
    restoreSnapshot: unary(logger, (req) => supervisor.snapshots.restore(req.projectId, req.snapshotId, req.createSafetySnapshot)),
    listSnapshots: unary(logger, (req) => supervisor.snapshots.list(req.projectId)),
    importPackage: unary(logger, async (req) => importPackageResponse(await packages.import({ path: req.packageDataPath, verifySignature: req.verifySignature, replace: req.replace }))),
    duplicateProject: unary(logger, (req) => supervisor.snapshots.duplicate(req.sourceProjectId, req.newProjectId, req.snapshotId, req.statePath)),
  };
  const close = async (): Promise<void> => {
    try {
      await supervisor.close();
    } finally {
      registry.close();
    }
  };
  const progress = bindService(SupervisorProgressService, {
    watchSnapshotProgress: serverStream(logger, async function* (req: { projectId: string }, { signal }) {
      for await (const event of supervisor.snapshots.watch(req.projectId, signal)) yield progressMessage(event);
    }),
  });
  return [bindService(SupervisorService, handlers, close), progress];
}
