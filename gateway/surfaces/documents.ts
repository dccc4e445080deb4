import type { JsonObject } from "@bufbuild/protobuf";
import type { Contract } from "../transcoder/descriptors";
import { JsonCodec } from "../transcoder/json-codec";
import { openApiDocument, type OpenApiInfo } from "../transcoder/openapi";
import { displayPath } from "../transcoder/path-template";
import { buildRoutes } from "../transcoder/routes";
import type { SurfaceDescription, SurfaceDocument } from "./surface";

/** `GET <prefix>/`: the API version and every endpoint under the prefix, from the route table. */
export function discoveryIndex(prefix: string, version: string): SurfaceDocument {
  return {
    paths: [prefix, `${prefix}/`],
    build: (routes) => ({
      version,
      endpoints: routes
        .map((route) => `${route.httpMethod} ${displayPath(route.template)}`)
        .filter((endpoint) => endpoint.split(" ")[1]?.startsWith(`${prefix}/`)),
    }),
  };
}

export const OPENAPI_PATH = "/openapi.json";

/** `GET /openapi.json`: an OpenAPI 3.1 description of every route of the surface. */
export function openApi(info: OpenApiInfo): SurfaceDocument {
  return { paths: [OPENAPI_PATH], build: (routes, codec) => openApiDocument(routes, codec, info) };
}

/**
 * The OpenAPI document a surface serves, built without serving it: what `npm run generate` writes
 * to generated/openapi/ for the typed client, the same document `GET /openapi.json` answers.
 */
export function surfaceOpenApi(contract: Contract, description: SurfaceDescription, version: string): JsonObject {
  const codec = new JsonCodec(contract, description.json);
  return openApiDocument(buildRoutes(contract, description.services), codec, { ...description.openApi, version });
}
