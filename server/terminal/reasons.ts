import { Code, reasons } from "../errors";

/** Seed 001's error codes, each with the gRPC code whose HTTP status is the one the seed gives. */
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
});
