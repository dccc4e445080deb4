/** Background processes of the guest agent: started, listed, connected to, fed and signalled. */
export { ProcessTable, DEFAULT_KEEP_EXITED, type ProcessTableDeps } from "./process-table";
export { DEFAULT_HISTORY_BYTES } from "./output-history";
export { DEFAULT_QUEUE_BYTES } from "./output-broadcast";
export { MAX_PENDING_INPUT_BYTES } from "./pipe-child";
export { PROCESS_SIGNALS, type OutputKind, type ProcessEvent, type ProcessInfo, type ProcessSelector, type ProcessSignal, type StartOptions } from "./types";
