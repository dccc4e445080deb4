import type { ValidateComposeResponse } from "../../generated/ghostd/supervisor/v1/supervisor";
import { importCompose } from "./compose";
import { validationReport } from "./contract";
import type { RuntimeRegistry } from "./runtime/runtimes";

/**
 * ValidateCompose: a file that imports stays `valid` even with services this daemon's runtimes
 * cannot run (it is valid Compose); each of those is a warning, naming what OpenProject would
 * refuse. An invalid file's services are not judged: their errors come first.
 */
export function validateCompose(content: Uint8Array, runtimes: RuntimeRegistry): ValidateComposeResponse {
  const imported = importCompose(Buffer.from(content).toString("utf8"));
  return validationReport(imported, runtimes.problems(imported.services));
}
