import type { ComposeField, ComposeService } from "../../generated/ghostd/supervisor/v1/supervisor";

/** What an import of a Compose file says: each field's fate, and the problems found. */
export interface ComposeReport {
  readonly services: ComposeService[];
  readonly supported: ComposeField[];
  readonly transformed: ComposeField[];
  readonly rejected: ComposeField[];
  readonly warnings: string[];
  /** The critical problems, each naming its field. */
  readonly errors: string[];
}

export type FieldKind = "supported" | "transformed" | "rejected";

/** Notes a critical problem of one service's field, given the path below the service. */
export type ServiceError = (message: string) => void;

export function emptyReport(): ComposeReport {
  return { services: [], supported: [], transformed: [], rejected: [], warnings: [], errors: [] };
}

/** The errors of one service, told apart by the path they name. */
export function errorsOf(report: ComposeReport, service: string): string[] {
  return report.errors.filter((e) => e.startsWith(`services.${service}.`) || e.startsWith(`services.${service}:`));
}
