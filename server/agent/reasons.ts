import { Code, reasons } from "../errors";

/** The guest agent's error reasons (the Host API's `code`), with the codes they travel under. */
export const agentError = reasons({
  // The command ran past its timeout and its process group was killed (HTTP 408 on the Host API).
  exec_timeout: Code.DEADLINE_EXCEEDED,
});
