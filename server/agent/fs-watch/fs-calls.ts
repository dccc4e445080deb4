import type { Logger } from "pino";
import type { EntryInfo as EntryMessage, GuestAgentServer, WatchDirectoryResponse } from "../../../generated/ghostd/agent/v1/agent";
import { serverStream, unary } from "../../rpc/bind";
import { listEntries, statEntry, type EntryInfo } from "../fs-entries";
import { watchDirectory } from "./watcher";
import type { Watchers } from "./watchers";

function entryMessage(entry: EntryInfo): EntryMessage {
  return { ...entry, symlinkTarget: entry.symlinkTarget };
}

/** Opens the watch first (a missing or wrong path fails the call), then its events as they come. */
async function watchEvents(path: string, recursive: boolean, home: string, signal: AbortSignal): Promise<AsyncIterable<WatchDirectoryResponse>> {
  const events = await watchDirectory(path, { recursive }, home, signal);
  return (async function* () {
    for await (const event of events) yield { event };
  })();
}

/** The GuestAgent methods that inspect and watch the file system, over the agent's fs modules. */
export function fsInspectionHandlers(logger: Logger, home: string, watchers: Watchers): Partial<GuestAgentServer> {
  return {
    statPath: unary(logger, async (req) => ({ entry: entryMessage(await statEntry(req.path, home)) })),
    listEntries: unary(logger, async (req) => ({ entries: (await listEntries(req.path, req.depth ?? 1, home)).map(entryMessage) })),
    watchDirectory: serverStream(logger, (req, { signal }) => watchEvents(req.path, req.recursive, home, signal)),
    createWatcher: unary(logger, async (req) => ({ watcherId: await watchers.create(req.path, { recursive: req.recursive }, home) })),
    getWatcherEvents: unary(logger, (req) => ({ events: watchers.take(req.watcherId) })),
    removeWatcher: unary(logger, (req) => {
      watchers.remove(req.watcherId);
      return { ok: true };
    }),
  };
}
