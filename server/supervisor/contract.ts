import {
  LogStream,
  ProjectStatus,
  Protocol,
  ServiceState,
  type ComposeService,
  type GetProjectLogsResponse,
  type GetProjectStatusResponse,
  type PortMapping,
  type ProjectSummary,
  type ServiceStatus,
  type ValidateComposeResponse,
} from "../../generated/ghostd/supervisor/v1/supervisor";
import type { ComposeImport } from "./compose";
import type { LogLine } from "./logs";
import type { ServiceProblem } from "./runtime/driver";
import type { PortRow, ProjectRow, ProjectState, ProjectSummaryRow, ServiceRow, ServiceState as ServiceStateName } from "./registry";
import type { StateUsage } from "./state-layout";

/*
 * The supervisor's words in seed 002's contract: its enums and messages. Only the facade that
 * answers the contract (supervisor.ts, for service.ts) uses this; the modules under it keep the
 * registry's lowercase names, so a change of the wire format stays here.
 */

const PROJECT_STATES: readonly (readonly [ProjectState, ProjectStatus])[] = [
  ["registered", ProjectStatus.PROJECT_STATUS_REGISTERED],
  ["open", ProjectStatus.PROJECT_STATUS_OPEN],
  ["starting", ProjectStatus.PROJECT_STATUS_STARTING],
  ["running", ProjectStatus.PROJECT_STATUS_RUNNING],
  ["degraded", ProjectStatus.PROJECT_STATUS_DEGRADED],
  ["stopping", ProjectStatus.PROJECT_STATUS_STOPPING],
  ["stopped", ProjectStatus.PROJECT_STATUS_STOPPED],
  ["failed", ProjectStatus.PROJECT_STATUS_FAILED],
];

const SERVICE_STATES: Readonly<Record<ServiceStateName, ServiceState>> = {
  stopped: ServiceState.SERVICE_STATE_STOPPED,
  starting: ServiceState.SERVICE_STATE_STARTING,
  running: ServiceState.SERVICE_STATE_RUNNING,
  stopping: ServiceState.SERVICE_STATE_STOPPING,
  failed: ServiceState.SERVICE_STATE_FAILED,
};

/** At most this many log entries travel in one GetProjectLogs response. */
const LOG_PAGE = 500;

export function projectStatusOf(state: ProjectState): ProjectStatus {
  return PROJECT_STATES.find(([s]) => s === state)?.[1] ?? ProjectStatus.PROJECT_STATUS_UNSPECIFIED;
}

/** ListProjects' filter; UNSPECIFIED (or a value this daemon does not know) filters nothing. */
export function projectStateOf(status: ProjectStatus): ProjectState | undefined {
  return PROJECT_STATES.find(([, s]) => s === status)?.[0];
}

export function serviceStateOf(state: ServiceStateName): ServiceState {
  return SERVICE_STATES[state];
}

export function projectSummary(row: ProjectSummaryRow): ProjectSummary {
  return { projectId: row.projectId, appId: row.appId, name: row.name, status: projectStatusOf(row.status), serviceCount: row.serviceCount, portCount: row.portCount };
}

/** A service as ServiceStatus tells it: `state` is the live one when the service runs in this daemon. */
export function serviceStatus(record: ServiceRow, state: ServiceStateName, containerId: string): ServiceStatus {
  const status: ServiceStatus = { name: record.name, status: serviceStateOf(state), containerId, restartCount: record.restartCount };
  if (record.startedAt) status.startedAt = new Date(record.startedAt);
  return status;
}

export function portMapping(row: PortRow): PortMapping {
  return { serviceName: row.serviceName, containerPort: row.containerPort, hostPort: row.hostPort, protocol: row.protocol === "udp" ? Protocol.PROTOCOL_UDP : Protocol.PROTOCOL_TCP };
}

export function projectStatusResponse(row: ProjectRow, services: ServiceStatus[], ports: readonly PortRow[], usage: StateUsage, autosaveEnabled: boolean): GetProjectStatusResponse {
  const { projectId, appId, name, version } = row;
  const { sizeBytes: stateSizeBytes, snapshotCount } = usage;
  return { projectId, appId, name, version, status: projectStatusOf(row.status), services, ports: ports.map(portMapping), stateSizeBytes, snapshotCount, autosaveEnabled };
}

export function logEntry(line: LogLine): GetProjectLogsResponse["entries"][number] {
  return { timestamp: line.timestamp, serviceName: line.service, stream: line.stream === "stdout" ? LogStream.LOG_STREAM_STDOUT : LogStream.LOG_STREAM_STDERR, line: line.line };
}

/** Log lines as responses of at most LOG_PAGE entries; with `evenEmpty`, one empty response for none. */
export function* logPages(lines: readonly LogLine[], evenEmpty = false): Generator<GetProjectLogsResponse> {
  // A follower's tail is sent even with no line in it, so that it hears at once that it follows:
  // over HTTP nothing, not even the status, goes out before a stream's first message.
  if (evenEmpty && lines.length === 0) yield { entries: [] };
  for (let i = 0; i < lines.length; i += LOG_PAGE) yield { entries: lines.slice(i, i + LOG_PAGE).map(logEntry) };
}

/**
 * ValidateCompose's answer: the import's report, each service with whether this daemon's
 * runtimes can run it, and errors and runtime problems among the warnings too (seed 002 has no
 * other place for them).
 */
export function validationReport({ valid, report }: ComposeImport, problems: readonly ServiceProblem[]): ValidateComposeResponse {
  const unrunnable = valid ? problems.map((p) => `services.${p.service}: ${p.problem}`) : [];
  return {
    valid,
    services: report.services.map((service) => withProblems(service, problems)),
    supportedFields: report.supported,
    transformedFields: report.transformed,
    rejectedFields: report.rejected,
    warnings: [...report.errors.map((e) => `error: ${e}`), ...report.warnings, ...unrunnable],
  };
}

function withProblems(service: ComposeService, problems: readonly ServiceProblem[]): ComposeService {
  const reasons = [...service.reasons, ...problems.filter((p) => p.service === service.name).map((p) => p.problem)];
  return { ...service, runnable: reasons.length === 0, reasons };
}
