// The guest agent's directory watches: a stream (watchDirectory) and polled watchers by id (Watchers).
export type { WatchEvent, WatchEventType, WatchOptions } from "./types";
export { watchDirectory } from "./watcher";
export { MAX_WATCHERS, Watchers } from "./watchers";
export { MAX_QUEUED_EVENTS } from "./queue";
export { MAX_WATCHED_ENTRIES } from "./tree-watch";
