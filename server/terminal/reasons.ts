import { Code, reasons } from "../errors";

/**
 * Seed 001's error codes, each with the gRPC code whose HTTP status is the one the seed gives,
 * then the few this API adds for inputs the seed does not name.
 */
export const terminalError = reasons({
  invalid_json: Code.INVALID_ARGUMENT,
  missing_field: Code.INVALID_ARGUMENT,
  invalid_uuid: Code.INVALID_ARGUMENT,
  terminal_not_found: Code.NOT_FOUND,
  no_focused_terminal: Code.NOT_FOUND,
  invalid_location: Code.INVALID_ARGUMENT,
  invalid_action: Code.INVALID_ARGUMENT,
  // Recognised but impossible here (goto_tab:9 with two tabs): the request, not the server, is wrong.
  action_failed: Code.FAILED_PRECONDITION,
  permission_denied: Code.PERMISSION_DENIED,
  // Additions: an unknown key, modifier, mouse button, detail type or other argument value.
  invalid_key: Code.INVALID_ARGUMENT,
  invalid_button: Code.INVALID_ARGUMENT,
  invalid_detail: Code.INVALID_ARGUMENT,
  invalid_argument: Code.INVALID_ARGUMENT,
  // `wait`: a pattern that is not a regular expression, and a wait that timed out (408 over HTTP).
  invalid_match: Code.INVALID_ARGUMENT,
  wait_timeout: Code.DEADLINE_EXCEEDED,
  // The terminal could not be started (no shell, bad working directory).
  spawn_failed: Code.FAILED_PRECONDITION,
  // An attached client stopped reading while the terminal's output went on.
  client_too_slow: Code.RESOURCE_EXHAUSTED,
});
