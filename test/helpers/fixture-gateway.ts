import type { ServerOptions } from "@grpc/grpc-js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import pino from "pino";
import { discoveryIndex, openApi } from "../../gateway/surfaces/documents";
import { reasonAndMessage, reasonAndMessageSchema } from "../../gateway/surfaces/error-dialects";
import { surfaceApp, type Surface } from "../../gateway/surfaces/surface";
import { loadContract } from "../../gateway/transcoder/descriptors";
import { parseTarget } from "../../gateway/transport/targets";
import { Upstream } from "../../gateway/transport/upstream";
import { libraryDescriptorSet, startLibrary, type RunningLibrary } from "../fixtures/library-server";
import { tempDir } from "./tmp";

export interface FixtureGateway {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly library: RunningLibrary;
  close(): Promise<void>;
}

/** A test surface over the fixture service: the transcoder alone, no ghostd service involved. */
export function fixtureSurface(overrides: Partial<Surface> = {}): Surface {
  return {
    name: "fixture",
    services: ["ghostd.fixture.v1.Library"],
    json: { protoNames: true },
    maxBodyBytes: 64 * 1024,
    maxUploadBytes: 256 * 1024,
    bodyIdleMs: 10_000,
    statusByReason: { teapot: 418 },
    requestHeaders: ["x-forward-me"],
    responseHeaders: { "x-book-etag": "ETag" },
    renderError: reasonAndMessage,
    before: [],
    documents: [
      discoveryIndex("/v1", "1"),
      openApi({
        title: "fixture",
        version: "1",
        description: "test fixture",
        servers: [{ url: "http://127.0.0.1:1", description: "nowhere" }],
        errorSchema: reasonAndMessageSchema,
        errorStatuses: [
          { status: 400, description: "bad request" },
          { status: 415, description: "not JSON", withBodyOnly: true },
        ],
      }),
    ],
    server: {},
    ...overrides,
  };
}

export interface FixtureGatewayOptions {
  readonly surface?: Partial<Surface>;
  /** The gateway's target for the server's socket; the socket itself by default. */
  readonly targetFor?: (librarySocket: string) => string | Promise<string>;
  /** grpc-js options of the fixture server. */
  readonly serverOptions?: ServerOptions;
  /** How the gateway calls the service: over gRPC (default), or in-process as `ghostd serve` does. */
  readonly calls?: "grpc" | "in-process";
}

/** The fixture gRPC server on a Unix socket and a gateway surface over it on 127.0.0.1. */
export async function startFixtureGateway(options: FixtureGatewayOptions = {}): Promise<FixtureGateway> {
  const dir = tempDir();
  const socket = join(dir.path, "library.sock");
  const library = await startLibrary(socket, options.serverOptions ?? {});
  const logger = pino({ level: "silent" });
  const upstream =
    options.calls === "in-process" ? Upstream.inProcess([library.binding], logger) : await Upstream.open(parseTarget(await (options.targetFor ?? ((s) => `unix:${s}`))(socket)));
  const app = surfaceApp(loadContract(libraryDescriptorSet()), fixtureSurface(options.surface), () => upstream.client, logger);
  const handle = app.callback();
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    library,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
      await library.close();
      dir.remove();
    },
  };
}
