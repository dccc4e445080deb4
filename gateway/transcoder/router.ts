import { compareSpecificity, matchParts, pathParts, type Bindings } from "./path-template";
import type { Route } from "./routes";

export type RouteMatch =
  | { readonly kind: "found"; readonly route: Route; readonly bindings: Bindings }
  | { readonly kind: "method_not_allowed"; readonly allow: readonly string[] }
  | { readonly kind: "not_found" };

/**
 * Finds the route for a request: the most specific template that matches both path and method;
 * when templates match the path but none the method, the methods they would take.
 */
export class Router {
  private readonly routes: readonly Route[];

  constructor(routes: readonly Route[]) {
    // A stable sort keeps declaration order among equally specific templates.
    this.routes = [...routes].sort((a, b) => compareSpecificity(a.template, b.template));
  }

  match(httpMethod: string, rawPath: string): RouteMatch {
    const path = rawPath.length > 1 && rawPath.endsWith("/") ? rawPath.slice(0, -1) : rawPath;
    const method = httpMethod === "HEAD" ? "GET" : httpMethod;
    const allow = new Set<string>();
    // Split once per verb the templates have, not once per route.
    const split = new Map<string | undefined, string[] | undefined>();
    const partsFor = (verb: string | undefined): string[] | undefined => {
      if (!split.has(verb)) split.set(verb, pathParts(path, verb));
      return split.get(verb);
    };
    for (const route of this.routes) {
      const parts = partsFor(route.template.verb);
      const bindings = parts && matchParts(route.template, parts);
      if (!bindings) continue;
      if (route.httpMethod === method) return { kind: "found", route, bindings };
      allow.add(route.httpMethod);
    }
    if (allow.size > 0) return { kind: "method_not_allowed", allow: [...allow] };
    return { kind: "not_found" };
  }
}
