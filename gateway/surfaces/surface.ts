import type { JsonValue } from "@bufbuild/protobuf";
import type { Client } from "@grpc/grpc-js";
import Koa, { type Middleware } from "koa";
import type { Logger } from "pino";
import type { Contract } from "../transcoder/descriptors";
import { drainRequest } from "../transcoder/body";
import { GatewayError } from "../transcoder/errors";
import { JsonCodec, type JsonOptions } from "../transcoder/json-codec";
import { buildRoutes, type Route } from "../transcoder/routes";
import type { OpenApiInfo } from "../transcoder/openapi";
import { transcoder, type BodyLimits, type HttpDialect } from "../transcoder/transcoder";
import { OPENAPI_PATH, openApi } from "./documents";

/** A document the gateway answers itself, built from the surface's route table. */
export interface SurfaceDocument {
  readonly paths: readonly string[];
  build(routes: readonly Route[], codec: JsonCodec): JsonValue;
}

/**
 * What a surface is, wherever it is deployed: which services it serves, how it speaks, and the
 * documents it answers. Listing its routes needs nothing more. Everything that differs between the
 * Terminal/Supervisor API and the Host API is a value here, not code in the transcoder.
 */
export interface SurfaceDescription extends HttpDialect {
  readonly name: string;
  readonly services: readonly string[];
  readonly json: JsonOptions;
  /** Documents built from the route table alone (a discovery index), answered beside the OpenAPI one. */
  readonly indexes: readonly SurfaceDocument[];
  /** The OpenAPI document's title, description and error schema; its version is the release's. */
  readonly openApi: Omit<OpenApiInfo, "version">;
}

/** What an endpoint the gateway answers beside the routes (`/mcp`, the dashboard) is built with. */
export interface EndpointContext {
  readonly contract: Contract;
  readonly codec: JsonCodec;
  /** The surface's upstream, as the transcoder calls it. */
  readonly upstream: () => Client;
}

/**
 * An endpoint of a deployment that is not one method's route: it runs after the guards, so they
 * cover it as they cover every route, and passes on what it does not answer.
 */
export type SurfaceEndpoint = (context: EndpointContext) => Middleware;

/** How one deployment runs a surface: its limits, the release it describes, guards, server settings. */
export interface SurfaceDeployment extends BodyLimits {
  readonly version: string;
  /** Runs before routing: guards and connection policy. */
  readonly before: readonly Middleware[];
  /** Endpoints beside the routes, after the guards; none when unset. */
  readonly endpoints?: readonly SurfaceEndpoint[];
  /** Settings of the Node HTTP server the surface listens with. */
  readonly server: ServerSettings;
}

/**
 * One HTTP surface as a listener serves it, its documents built for the release. A test surface
 * over the fixture service is written as one directly.
 */
export interface Surface extends Omit<SurfaceDescription, "indexes" | "openApi">, Omit<SurfaceDeployment, "version"> {
  readonly documents: readonly SurfaceDocument[];
}

export function deploySurface(description: SurfaceDescription, deployment: SurfaceDeployment): Surface {
  const { indexes, openApi: info, ...described } = description;
  const { version, ...settings } = deployment;
  return { ...described, ...settings, documents: [...indexes, openApi({ ...info, version })] };
}

/** Where a surface answers its documents, known without building them. */
export function documentPaths(description: SurfaceDescription): string[] {
  return [...description.indexes.flatMap((d) => d.paths), OPENAPI_PATH];
}

export interface ServerSettings {
  /** Requests one connection may carry; later ones on it get no answer but a 503. */
  readonly maxRequestsPerSocket?: number;
  /** How long a client may take to send its headers (408 `request_timeout` after it). */
  readonly headersTimeoutMs?: number;
  /** How long a client may take to send its whole request; 0 is no bound. */
  readonly requestTimeoutMs?: number;
}

/** How often the server looks for clients past their timeouts: often enough to honour them. */
export function checkingInterval(settings: ServerSettings): number {
  const bounds = [settings.headersTimeoutMs, settings.requestTimeoutMs].filter((ms): ms is number => ms !== undefined && ms > 0);
  const shortest = Math.min(30_000, ...bounds);
  return Math.max(100, Math.min(30_000, Math.floor(shortest / 4)));
}

/** A Koa application serving one surface against one upstream gRPC client. */
export function surfaceApp(contract: Contract, surface: Surface, upstream: () => Client, logger: Logger): Koa {
  const codec = new JsonCodec(contract, surface.json);
  const routes = buildRoutes(contract, surface.services);
  const app = new Koa();
  app.silent = true;
  app.use(readBeforeAnswering);
  app.use(errorBoundary(surface, logger));
  for (const middleware of surface.before) app.use(middleware);
  for (const endpoint of surface.endpoints ?? []) app.use(endpoint({ contract, codec, upstream }));
  app.use(documents(surface.documents, routes, codec));
  app.use(
    transcoder({
      contract,
      routes,
      codec,
      upstream,
      maxBodyBytes: surface.maxBodyBytes,
      maxUploadBytes: surface.maxUploadBytes,
      bodyIdleMs: surface.bodyIdleMs,
      statusByReason: surface.statusByReason,
      requestHeaders: surface.requestHeaders,
      responseHeaders: surface.responseHeaders,
      renderError: surface.renderError,
    }),
  );
  return app;
}

/**
 * An answer given before the body was read (a refused origin, an unknown route, a bad path) waits
 * until the client has sent the rest; past the bound, it goes out with the connection closing.
 * The answer to a body that stalled does not wait for it.
 */
const readBeforeAnswering: Middleware = async (ctx, next) => {
  await next();
  // A request that switched protocols has handed its socket over.
  if (ctx.respond === false || ctx.req.complete || ctx.status === 408) return;
  if (!(await drainRequest(ctx.req))) ctx.set("Connection", "close");
};

/** Every failure becomes a response in the surface's dialect: never a stack trace, never HTML. */
function errorBoundary(surface: Surface, logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      let error: GatewayError;
      if (err instanceof GatewayError) {
        error = err;
      } else {
        logger.error({ err, surface: surface.name, method: ctx.method, path: ctx.path }, "request failed");
        error = new GatewayError(500, "internal", "internal error");
      }
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.type = "application/json";
      ctx.body = JSON.stringify(surface.renderError(error));
    }
  };
}

function documents(docs: readonly SurfaceDocument[], routes: readonly Route[], codec: JsonCodec): Middleware {
  const byPath = new Map<string, SurfaceDocument>();
  for (const doc of docs) for (const path of doc.paths) byPath.set(path, doc);
  const built = new Map<SurfaceDocument, string>();
  return async (ctx, next) => {
    const doc = byPath.get(ctx.path);
    if (!doc) {
      await next();
      return;
    }
    if (ctx.method !== "GET" && ctx.method !== "HEAD") {
      throw new GatewayError(405, "method_not_allowed", `${ctx.method} is not allowed on ${ctx.path}; it takes GET`, { Allow: "GET" });
    }
    let body = built.get(doc);
    if (body === undefined) {
      body = JSON.stringify(doc.build(routes, codec));
      built.set(doc, body);
    }
    ctx.type = "application/json";
    ctx.body = body;
  };
}
