import { Code, reasons } from "../errors";

/** The guest agent's error reasons (the Host API's `code`), with the codes they travel under. */
export const agentError = reasons({
  // The command ran past its timeout; it and every process it started were killed (HTTP 408 on the Host API).
  exec_timeout: Code.DEADLINE_EXCEEDED,
  // The agent's exec host process does not answer: Health says so instead of ok.
  exec_unavailable: Code.UNAVAILABLE,
  // The client went away before the command started.
  cancelled: Code.CANCELLED,
  // No such executable on the guest's PATH, or at the path given.
  command_not_found: Code.NOT_FOUND,
  // The file exists but cannot be executed.
  not_executable: Code.PERMISSION_DENIED,
  path_not_found: Code.NOT_FOUND,
  not_a_directory: Code.FAILED_PRECONDITION,
  is_a_directory: Code.FAILED_PRECONDITION,
  // A FIFO, socket or device where a file was to be read.
  not_a_file: Code.FAILED_PRECONDITION,
  directory_not_empty: Code.FAILED_PRECONDITION,
  already_exists: Code.ALREADY_EXISTS,
  // The guest's file system is full (or the user's quota is), so a file could not be saved.
  no_space: Code.RESOURCE_EXHAUSTED,
  permission_denied: Code.PERMISSION_DENIED,
  invalid_argument: Code.INVALID_ARGUMENT,
  invalid_json: Code.INVALID_ARGUMENT,
  // Apps: no desktop entry with that id, or no app in front.
  app_not_found: Code.NOT_FOUND,
  no_frontmost_app: Code.NOT_FOUND,
  launch_failed: Code.FAILED_PRECONDITION,
  // Open: no opener on the guest, or the opener failed.
  no_opener: Code.FAILED_PRECONDITION,
  open_failed: Code.FAILED_PRECONDITION,
  // Background processes: no process with that pid or tag, or one that has exited and takes no more input or signals.
  process_not_found: Code.NOT_FOUND,
  process_exited: Code.FAILED_PRECONDITION,
  // Resize asked of a process on pipes; closing stdin asked of one on a PTY, which has no stdin of its own to close.
  not_a_pty: Code.FAILED_PRECONDITION,
  is_a_pty: Code.FAILED_PRECONDITION,
  // Input after the client closed the process's stdin.
  stdin_closed: Code.FAILED_PRECONDITION,
  // More input waits for a process than it reads, or a connected client fell further behind its output than the agent queues.
  input_backlog: Code.RESOURCE_EXHAUSTED,
  reader_too_slow: Code.RESOURCE_EXHAUSTED,
  // File system inspection: a listing or a watched tree past the agent's bound, a polled watcher id it does not hold,
  // and a watch the guest cannot set up (its inotify watches, or the agent's watchers, all taken).
  too_many_entries: Code.INVALID_ARGUMENT,
  watcher_not_found: Code.NOT_FOUND,
  watch_limit: Code.RESOURCE_EXHAUSTED,
  // Tunnels: nothing listens on the guest port (HTTP 502 on the Host API), or the agent cannot open vsock sockets.
  tunnel_refused: Code.UNAVAILABLE,
  vsock_unavailable: Code.UNAVAILABLE,
});

/** A file system error as the agent reports it: missing 404, wrong kind 400, forbidden 403. */
export function fsError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return agentError("path_not_found", `${path} does not exist`);
    case "ENOTDIR":
      return agentError("not_a_directory", `${path} is not a directory`);
    case "EISDIR":
      return agentError("is_a_directory", `${path} is a directory`);
    case "EACCES":
    case "EPERM":
      return agentError("permission_denied", `permission denied: ${path}`);
    case "EEXIST":
      return agentError("already_exists", `${path} already exists`);
    case "ENOSPC":
    case "EDQUOT":
      return agentError("no_space", `no space left for ${path}`);
    case "ENOTEMPTY":
      return agentError("directory_not_empty", `${path} is not empty`);
    case "ENAMETOOLONG":
    case "ELOOP":
    case "EINVAL":
      return agentError("invalid_argument", `${path}: ${(err as Error).message}`);
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}
