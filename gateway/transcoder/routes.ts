import type { DescField, DescMessage, DescMethod } from "@bufbuild/protobuf";
import type { HttpRule } from "../../generated/google/api/http";
import type { Contract } from "./descriptors";
import { parseTemplate, type PathTemplate } from "./path-template";

export const HTTP_BODY = "google.api.HttpBody";

/** One HTTP binding of one gRPC method, checked against the method's types when built. */
export interface Route {
  readonly httpMethod: string;
  readonly template: PathTemplate;
  readonly method: DescMethod;
  /** `""` (no body), `"*"` (the whole request) or a top-level field of the request. */
  readonly body: string;
  readonly bodyField: DescField | undefined;
  /** The response field that becomes the whole HTTP body, when `response_body` names one. */
  readonly responseBody: DescField | undefined;
  readonly serverStreaming: boolean;
  /** Whether the body arrives as raw bytes (google.api.HttpBody), not JSON. */
  readonly rawBody: boolean;
  /** Whether the rule itself (not one of its additional bindings) declared this route. */
  readonly primary: boolean;
}

export class RouteError extends Error {}

/** Every HTTP binding of every method of the given services, in declaration order. */
export function buildRoutes(contract: Contract, serviceNames: readonly string[]): Route[] {
  const routes: Route[] = [];
  for (const name of serviceNames) {
    for (const method of contract.service(name).methods) {
      const rule = contract.httpRule(method);
      if (!rule) continue;
      routes.push(routeOf(method, rule, true));
      for (const extra of rule.additionalBindings) {
        if (extra.additionalBindings.length > 0) {
          throw new RouteError(`${method.parent.typeName}.${method.name}: additional bindings cannot nest`);
        }
        routes.push(routeOf(method, extra, false));
      }
    }
  }
  return routes;
}

function routeOf(method: DescMethod, rule: HttpRule, primary: boolean): Route {
  const where = `${method.parent.typeName}.${method.name}`;
  const [httpMethod, path] = patternOf(rule, where);
  if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
    throw new RouteError(`${where}: client streaming cannot be transcoded`);
  }
  const template = parseTemplate(path);
  for (const variable of template.variables) {
    const chain = fieldChain(method.input, variable.fieldPath);
    const leaf = chain?.[chain.length - 1];
    if (!leaf || (leaf.fieldKind !== "scalar" && leaf.fieldKind !== "enum")) {
      throw new RouteError(`${where}: path variable {${variable.fieldPath}} is not a singular scalar field`);
    }
  }
  let bodyField: DescField | undefined;
  if (rule.body && rule.body !== "*") {
    bodyField = method.input.fields.find((f) => f.name === rule.body);
    if (!bodyField) throw new RouteError(`${where}: body field ${rule.body} does not exist`);
  }
  if (rule.body && httpMethod === "GET") throw new RouteError(`${where}: a GET binding cannot take a body`);
  let responseBody: DescField | undefined;
  if (rule.responseBody) {
    responseBody = method.output.fields.find((f) => f.name === rule.responseBody);
    if (!responseBody) throw new RouteError(`${where}: response_body field ${rule.responseBody} does not exist`);
  }
  return {
    httpMethod,
    template,
    method,
    body: rule.body,
    bodyField,
    responseBody,
    serverStreaming: method.methodKind === "server_streaming",
    rawBody: (rule.body === "*" && method.input.typeName === HTTP_BODY) || (bodyField?.fieldKind === "message" && bodyField.message.typeName === HTTP_BODY),
    primary,
  };
}

function patternOf(rule: HttpRule, where: string): [string, string] {
  if (rule.get !== undefined) return ["GET", rule.get];
  if (rule.put !== undefined) return ["PUT", rule.put];
  if (rule.post !== undefined) return ["POST", rule.post];
  if (rule.delete !== undefined) return ["DELETE", rule.delete];
  if (rule.patch !== undefined) return ["PATCH", rule.patch];
  if (rule.custom) return [rule.custom.kind.toUpperCase(), rule.custom.path];
  throw new RouteError(`${where}: the http rule has no pattern`);
}

/** The fields a dotted path walks through, or undefined when one of them does not exist. */
export function fieldChain(message: DescMessage, fieldPath: string): DescField[] | undefined {
  const chain: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of fieldPath.split(".")) {
    if (!current) return undefined;
    const field: DescField | undefined = current.fields.find((f) => f.name === name || f.jsonName === name);
    if (!field) return undefined;
    chain.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return chain;
}
