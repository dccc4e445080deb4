import { Code, reasons, type DomainError } from "../errors";

/**
 * Seed 002's error codes, each with the gRPC code it travels under. State conflicts are
 * FAILED_PRECONDITION: the client must change something before trying again.
 */
export const supervisorError = reasons({
  NOT_FOUND: Code.NOT_FOUND,
  PATH_NOT_FOUND: Code.NOT_FOUND,
  INVALID_MANIFEST: Code.INVALID_ARGUMENT,
  CONFLICT: Code.ALREADY_EXISTS,
  IMAGE_PULL_FAILED: Code.UNAVAILABLE,
  ALREADY_OPEN: Code.FAILED_PRECONDITION,
  NOT_OPEN: Code.FAILED_PRECONDITION,
  ALREADY_RUNNING: Code.FAILED_PRECONDITION,
  NOT_RUNNING: Code.FAILED_PRECONDITION,
  STILL_RUNNING: Code.FAILED_PRECONDITION,
  START_FAILED: Code.INTERNAL,
  MISSING_SECRET: Code.INVALID_ARGUMENT,
  SAVE_IN_PROGRESS: Code.ABORTED,
  SAVE_FAILED: Code.INTERNAL,
  SNAPSHOT_MISMATCH: Code.FAILED_PRECONDITION,
  RESTORE_FAILED: Code.INTERNAL,
  DUPLICATE_FAILED: Code.INTERNAL,
  INVALID_PACKAGE: Code.INVALID_ARGUMENT,
  SIGNATURE_INVALID: Code.PERMISSION_DENIED,
  TAMPERED: Code.PERMISSION_DENIED,
  PORT_CONFLICT: Code.ALREADY_EXISTS,
  // Added: an argument that is not of its form (a project id with a slash, a negative timeout).
  INVALID_ARGUMENT: Code.INVALID_ARGUMENT,
  // Added: a log follower that stopped reading while the service kept writing.
  READER_TOO_SLOW: Code.RESOURCE_EXHAUSTED,
});

export type SupervisorReason = keyof typeof supervisorError.table;

/**
 * A failure told under a reason the method's contract lists, for one whose own reason it does
 * not: the own reason stays machine-readable as the `cause` in ErrorInfo metadata.
 */
export function underReason(reason: SupervisorReason, err: DomainError, message = err.message): DomainError {
  return err.reason === reason ? err : supervisorError(reason, message, { ...err.metadata, cause: err.reason });
}
