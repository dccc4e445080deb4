import type { Logger } from "pino";
import type { GuestAgentServer, WatchEventsResponse } from "../../../generated/ghostd/agent/v1/agent";
import { opening, serverStream, unary } from "../../rpc/bind";
import type { LogRing } from "../../log-ring";
import type { UrlQueue } from "../url-queue";
import type { AgentEvent, AgentEvents } from "./agent-events";

function eventMessage(event: AgentEvent): WatchEventsResponse {
  if ("files" in event) return { files: { files: [...event.files] } };
  if ("url" in event) return { url: event.url };
  if ("ports" in event) return { ports: { ports: [...event.ports.ports], opened: [...event.ports.opened], closed: [...event.ports.closed] } };
  if ("log" in event) return { log: event.log };
  return { app: { bundleId: event.app.bundleId } };
}

async function* messages(events: AsyncIterable<AgentEvent>): AsyncGenerator<WatchEventsResponse> {
  for await (const event of events) yield eventMessage(event);
}

/** The GuestAgent methods of the URL queue, the log and the event stream. */
export function eventHandlers(logger: Logger, events: AgentEvents, urls: UrlQueue, logs: LogRing): Partial<GuestAgentServer> {
  return {
    getLogs: unary(logger, (req) => ({ lines: logs.recent(req.lines) })),
    queueUrl: unary(logger, async (req) => ({ urls: await urls.add(req.url) })),
    takeUrls: unary(logger, async () => ({ urls: await urls.take() })),
    clearUrls: unary(logger, async () => {
      await urls.clear();
      return { ok: true };
    }),
    watchEvents: serverStream(logger, (_req, { signal }) => opening(async () => messages(await events.open(signal)))),
  };
}
