import { openApiDocument, type OpenApiInfo } from "../transcoder/openapi";
import { displayPath } from "../transcoder/path-template";
import type { SurfaceDocument } from "./surface";

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
