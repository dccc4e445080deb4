import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ReadResourceRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { ResourceReader } from "./resources";

/**
 * Serves the resources on one server: list, templates and read always; subscriptions only where
 * the server outlives a request (stdio), since a notification needs a connection to go out on.
 * Each subscription is one watch, ended by unsubscribing or by the server closing.
 */
// eslint-disable-next-line @typescript-eslint/no-deprecated
export function serveResources(server: Server, reader: ResourceReader, subscriptions: boolean): void {
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: reader.entries.map((entry) => entry.template) }));
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: await reader.list() }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => ({ contents: [await reader.read(request.params.uri)] }));
  if (!subscriptions) return;
  const watches = new Map<string, () => void>();
  server.setRequestHandler(SubscribeRequestSchema, (request) => {
    const { uri } = request.params;
    if (!watches.has(uri)) watches.set(uri, reader.watch(uri, () => void server.sendResourceUpdated({ uri }).catch(() => undefined)));
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    watches.get(request.params.uri)?.();
    watches.delete(request.params.uri);
    return {};
  });
  const closed = server.onclose;
  server.onclose = () => {
    for (const stop of watches.values()) stop();
    watches.clear();
    closed?.();
  };
}
