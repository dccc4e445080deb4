import type { GetProjectLogsResponse } from "../../generated/ghostd/supervisor/v1/supervisor";
import { logPages } from "./contract";
import type { ProjectLogs } from "./logs";
import type { ProjectPlan } from "./plan";
import { supervisorError } from "./reasons";
import type { ProjectRow } from "./registry";

export interface LogRequest {
  readonly service: string | undefined;
  readonly follow: boolean;
  readonly tailLines: number | undefined;
  readonly signal: AbortSignal;
}

/**
 * The last lines of a project's logs, then, with `follow`, lines as they come until `signal`
 * aborts; at most 500 entries a response.
 */
export async function* readProjectLogs(row: ProjectRow, book: ProjectLogs, request: LogRequest): AsyncGenerator<GetProjectLogsResponse> {
  const { tailLines, follow, signal } = request;
  if (tailLines !== undefined && (tailLines < 0 || tailLines > 100_000)) throw supervisorError("INVALID_ARGUMENT", "tail_lines must be from 0 to 100000");
  const only = request.service || undefined;
  if (only !== undefined && !(row.plan === undefined ? [] : (JSON.parse(row.plan) as ProjectPlan).services.map((s) => s.name)).includes(only)) {
    throw supervisorError("NOT_FOUND", `project ${row.projectId} has no service ${only}`);
  }
  let first = true;
  for await (const lines of book.read(tailLines ?? 100, only, follow, signal)) {
    yield* logPages(lines, first && follow);
    first = false;
  }
}
