import type { DescField, DescMessage, DescMethod } from "@bufbuild/protobuf";
import type { BodyStream, StreamUpgrade, WebSocketRule } from "../../generated/ghostd/options/v1/options";
import { HttpRule } from "../../generated/google/api/http";
import type { Contract } from "./descriptors";
import { parseTemplate, type PathTemplate } from "./path-template";
import { RouteError } from "./route-error";
import { bodyStreamBinding, streamUpgradeBinding, webSocketFrames, type BodyStreamBinding, type StreamUpgradeBinding, type WebSocketFrames } from "./stream-rules";

export type { BodyStreamBinding, StreamUpgradeBinding, WebSocketFrames };

export const HTTP_BODY = "google.api.HttpBody";

/** Whether a field holds a google.api.HttpBody: raw bytes and their type, not JSON. */
export function isHttpBodyField(field: DescField | undefined): boolean {
  return field?.fieldKind === "message" && field.message.typeName === HTTP_BODY;
}

/** One HTTP binding of one gRPC method, checked against the method's types when built. */
export interface Route {
  readonly httpMethod: string;
  readonly template: PathTemplate;
  readonly method: DescMethod;
  /** The message the HTTP request fills: the method's input, or the opening field of a WebSocket. */
  readonly input: DescMessage;
  /** `""` (no body), `"*"` (the whole request) or a top-level field of the request. */
  readonly body: string;
  readonly bodyField: DescField | undefined;
  /** The response field that becomes the whole HTTP body, when `response_body` names one. */
  readonly responseBody: DescField | undefined;
  readonly serverStreaming: boolean;
  readonly clientStreaming: boolean;
  /** How the route's messages travel as frames when a `GET` asks to upgrade to a WebSocket. */
  readonly webSocket: WebSocketFrames | undefined;
  /** How the route is served as raw bytes behind an HTTP upgrade (`Upgrade: tunnel`). */
  readonly streamUpgrade: StreamUpgradeBinding | undefined;
  /** How the request body streams into a client-streaming method, chunk by chunk. */
  readonly bodyStream: BodyStreamBinding | undefined;
  /** Whether the route is served only after an upgrade (426 to a plain request). */
  readonly upgradeOnly: boolean;
  /** Whether the body arrives as raw bytes (google.api.HttpBody), not JSON. */
  readonly rawBody: boolean;
  /** Whether the rule itself (not one of its additional bindings) declared this route. */
  readonly primary: boolean;
}

export { RouteError };

/** Every HTTP binding of every method of the given services, in declaration order. */
export function buildRoutes(contract: Contract, serviceNames: readonly string[]): Route[] {
  const routes: Route[] = [];
  for (const name of serviceNames) {
    for (const method of contract.service(name).methods) {
      const rule = contract.httpRule(method);
      const webSocket = contract.webSocketRule(method);
      const upgrades = { webSocket, streamUpgrade: contract.streamUpgradeRule(method), bodyStream: contract.bodyStreamRule(method) };
      if (rule) routes.push(...ruleRoutes(method, rule, upgrades));
      if (webSocket?.get) routes.push(routeOf(method, HttpRule.fromPartial({ get: webSocket.get }), { primary: !rule, webSocket, streamUpgrade: undefined, bodyStream: undefined, upgradeOnly: true }));
      else if (webSocket && !rule) throw new RouteError(`${where(method)}: a websocket rule needs an HTTP rule or its own get`);
    }
  }
  return routes;
}

function where(method: DescMethod): string {
  return `${method.parent.typeName}.${method.name}`;
}

/** A rule's own binding and its additional ones; a GET among them upgrades when the method has a websocket rule. */
function ruleRoutes(method: DescMethod, rule: HttpRule, upgrades: Pick<RouteKind, "webSocket" | "streamUpgrade" | "bodyStream">): Route[] {
  const clientStreaming = (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") && !upgrades.bodyStream;
  const routes = [routeOf(method, rule, { primary: true, ...upgrades, upgradeOnly: clientStreaming })];
  for (const extra of rule.additionalBindings) {
    if (extra.additionalBindings.length > 0) throw new RouteError(`${where(method)}: additional bindings cannot nest`);
    routes.push(routeOf(method, extra, { primary: false, ...upgrades, upgradeOnly: clientStreaming }));
  }
  return routes;
}

interface RouteKind {
  readonly primary: boolean;
  readonly webSocket: WebSocketRule | undefined;
  readonly streamUpgrade: StreamUpgrade | undefined;
  readonly bodyStream: BodyStream | undefined;
  readonly upgradeOnly: boolean;
}

function routeOf(method: DescMethod, rule: HttpRule, kind: RouteKind): Route {
  const at = where(method);
  const [httpMethod, path] = patternOf(rule, at);
  const clientStreaming = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  const webSocket = httpMethod === "GET" && kind.webSocket ? webSocketFrames(method, kind.webSocket) : undefined;
  const streamUpgrade = httpMethod === "GET" && kind.streamUpgrade ? streamUpgradeBinding(method, kind.streamUpgrade) : undefined;
  const bodyStream = kind.bodyStream && httpMethod !== "GET" ? bodyStreamBinding(method, kind.bodyStream) : undefined;
  if (clientStreaming && !webSocket && !streamUpgrade && !bodyStream) {
    throw new RouteError(`${at}: client streaming is served only after an upgrade, from a GET with a websocket or stream_upgrade rule, or from a body_stream rule`);
  }
  if (bodyStream && rule.body) throw new RouteError(`${at}: a body_stream rule takes the whole body; the binding cannot name one`);
  const input = webSocket?.open?.message ?? streamUpgrade?.open.message ?? bodyStream?.open.message ?? method.input;
  const template = parseTemplate(path);
  for (const variable of template.variables) {
    const chain = fieldChain(input, variable.fieldPath);
    const leaf = chain?.[chain.length - 1];
    if (!leaf || (leaf.fieldKind !== "scalar" && leaf.fieldKind !== "enum")) {
      throw new RouteError(`${at}: path variable {${variable.fieldPath}} is not a singular scalar field`);
    }
  }
  let bodyField: DescField | undefined;
  if (rule.body && rule.body !== "*") {
    bodyField = method.input.fields.find((f) => f.name === rule.body);
    if (!bodyField) throw new RouteError(`${at}: body field ${rule.body} does not exist`);
  }
  if (rule.body && httpMethod === "GET") throw new RouteError(`${at}: a GET binding cannot take a body`);
  let responseBody: DescField | undefined;
  if (rule.responseBody) {
    responseBody = method.output.fields.find((f) => f.name === rule.responseBody);
    if (!responseBody) throw new RouteError(`${at}: response_body field ${rule.responseBody} does not exist`);
  }
  return {
    httpMethod,
    template,
    method,
    input,
    body: rule.body,
    bodyField,
    responseBody,
    serverStreaming: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    clientStreaming,
    webSocket,
    streamUpgrade,
    bodyStream,
    upgradeOnly: kind.upgradeOnly,
    rawBody: (rule.body === "*" && method.input.typeName === HTTP_BODY) || isHttpBodyField(bodyField),
    primary: kind.primary,
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
