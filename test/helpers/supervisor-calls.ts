import {
  DeleteProjectRuntimeRequest,
  DuplicateProjectRequest,
  EnsureProjectRequest,
  GetProjectStatusRequest,
  ImportPackageRequest,
  ListProjectsRequest,
  ListSnapshotsRequest,
  OpenProjectRequest,
  ResolvePortsRequest,
  RestoreSnapshotRequest,
  SaveSnapshotRequest,
  StartProjectRequest,
  StopProjectRequest,
  ValidateComposeRequest,
  type DeleteProjectRuntimeResponse,
  type DuplicateProjectResponse,
  type EnsureProjectResponse,
  type GetProjectStatusResponse,
  type ImportPackageResponse,
  type ListProjectsResponse,
  type ListSnapshotsResponse,
  type OpenProjectResponse,
  type ResolvePortsResponse,
  type RestoreSnapshotResponse,
  type SaveSnapshotResponse,
  type StartProjectResponse,
  type StopProjectResponse,
  type SupervisorClient,
  type ValidateComposeResponse,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import { unary } from "./supervisor";

/** What the short `stop` gives each service to stop in: enough for the tests' services, short enough that one ignoring its signal holds a test up little. */
const TEST_STOP_SECONDS = 5;

/**
 * Every unary Supervisor method as a promise of its response, taking a partial request (what is
 * left out is the proto's default), and the short forms most tests call. `client` may be a
 * function, read at each call, so the calls follow a client that is replaced (a restarted
 * daemon) and can be taken apart once: `const { open, start } = supervisorCalls(...)`.
 */
export function supervisorCalls(client: SupervisorClient | (() => SupervisorClient)) {
  const api = typeof client === "function" ? client : () => client;
  const full = {
    ensureProject: (request: Partial<EnsureProjectRequest>) => unary<EnsureProjectResponse>((cb) => api().ensureProject(EnsureProjectRequest.fromPartial(request), cb)),
    openProject: (request: Partial<OpenProjectRequest>) => unary<OpenProjectResponse>((cb) => api().openProject(OpenProjectRequest.fromPartial(request), cb)),
    startProject: (request: Partial<StartProjectRequest>) => unary<StartProjectResponse>((cb) => api().startProject(StartProjectRequest.fromPartial(request), cb)),
    stopProject: (request: Partial<StopProjectRequest>) => unary<StopProjectResponse>((cb) => api().stopProject(StopProjectRequest.fromPartial(request), cb)),
    deleteProjectRuntime: (request: Partial<DeleteProjectRuntimeRequest>) => unary<DeleteProjectRuntimeResponse>((cb) => api().deleteProjectRuntime(DeleteProjectRuntimeRequest.fromPartial(request), cb)),
    listProjects: (request: Partial<ListProjectsRequest> = {}) => unary<ListProjectsResponse>((cb) => api().listProjects(ListProjectsRequest.fromPartial(request), cb)),
    getProjectStatus: (request: Partial<GetProjectStatusRequest>) => unary<GetProjectStatusResponse>((cb) => api().getProjectStatus(GetProjectStatusRequest.fromPartial(request), cb)),
    resolvePorts: (request: Partial<ResolvePortsRequest>) => unary<ResolvePortsResponse>((cb) => api().resolvePorts(ResolvePortsRequest.fromPartial(request), cb)),
    validateCompose: (request: Partial<ValidateComposeRequest>) => unary<ValidateComposeResponse>((cb) => api().validateCompose(ValidateComposeRequest.fromPartial(request), cb)),
    saveSnapshot: (request: Partial<SaveSnapshotRequest>) => unary<SaveSnapshotResponse>((cb) => api().saveSnapshot(SaveSnapshotRequest.fromPartial(request), cb)),
    restoreSnapshot: (request: Partial<RestoreSnapshotRequest>) => unary<RestoreSnapshotResponse>((cb) => api().restoreSnapshot(RestoreSnapshotRequest.fromPartial(request), cb)),
    listSnapshots: (request: Partial<ListSnapshotsRequest>) => unary<ListSnapshotsResponse>((cb) => api().listSnapshots(ListSnapshotsRequest.fromPartial(request), cb)),
    duplicateProject: (request: Partial<DuplicateProjectRequest>) => unary<DuplicateProjectResponse>((cb) => api().duplicateProject(DuplicateProjectRequest.fromPartial(request), cb)),
    importPackage: (request: Partial<ImportPackageRequest>) => unary<ImportPackageResponse>((cb) => api().importPackage(ImportPackageRequest.fromPartial(request), cb)),
  };
  return {
    ...full,
    ensure: full.ensureProject,
    open: (projectId: string) => full.openProject({ projectId }),
    start: (projectId: string, secrets: Record<string, string> = {}) => full.startProject({ projectId, secrets }),
    /** Gives each service TEST_STOP_SECONDS; `stopProject({ projectId })` leaves timeout_seconds unset, so each has its stop_grace_period. */
    stop: (projectId: string, timeoutSeconds = TEST_STOP_SECONDS) => full.stopProject({ projectId, timeoutSeconds }),
    remove: (projectId: string, force = false) => full.deleteProjectRuntime({ projectId, force }),
    status: (projectId: string) => full.getProjectStatus({ projectId }),
    ports: (projectId: string, refresh = false) => full.resolvePorts({ projectId, refresh }),
  };
}

export type SupervisorCalls = ReturnType<typeof supervisorCalls>;
