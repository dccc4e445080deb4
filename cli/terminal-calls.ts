import type { JsonValue } from "@bufbuild/protobuf";
import type { components } from "../generated/openapi/terminal-api";
import { invoke } from "./calls";

// The terminal calls ghostctl's terminal commands make, over gRPC like every other command, so
// --target applies to them. Replies are the proto JSON (proto names) the OpenAPI schemas describe.

type Schemas = components["schemas"];
export type TerminalJson = Schemas["ghostd.terminal.v1.Terminal"];
export type CreateBody = Schemas["ghostd.terminal.v1.CreateTerminalRequest"];
export type InputBody = Schemas["ghostd.terminal.v1.InputTextRequest"];
export type WaitBody = Schemas["ghostd.terminal.v1.WaitRequest"];

const SERVICE = "ghostd.terminal.v1.Terminals";

/** One unary call's reply, as JSON. */
async function call<T>(target: string, method: string, request: object): Promise<T> {
  let reply: JsonValue = null;
  await invoke(target, `${SERVICE}/${method}`, request as JsonValue, (json) => (reply = json));
  return reply as T;
}

export async function listTerminals(target: string): Promise<TerminalJson[]> {
  return (await call<Schemas["ghostd.terminal.v1.ListTerminalsResponse"]>(target, "ListTerminals", {})).terminals;
}

export async function createTerminal(target: string, body: CreateBody): Promise<TerminalJson> {
  // Over HTTP the reply is the terminal itself (response_body), so the schemas have no wrapper for it.
  const { terminal } = await call<{ terminal: TerminalJson }>(target, "CreateTerminal", body);
  return terminal;
}

export function inputText(target: string, id: string, body: InputBody): Promise<Schemas["ghostd.terminal.v1.InputTextResponse"]> {
  return call(target, "InputText", { id, ...body });
}

/** The visible screen, or with `all` the scrollback too, as the text a user would copy. */
export async function screenText(target: string, id: string, all: boolean): Promise<string> {
  return (await call<Schemas["ghostd.terminal.v1.GetTerminalDetailsResponse"]>(target, "GetTerminalDetails", { id, type: all ? "contents" : "visible" })).value;
}

export function waitFor(target: string, id: string, body: WaitBody): Promise<Schemas["ghostd.terminal.v1.WaitResponse"]> {
  return call(target, "Wait", { id, ...body });
}

/**
 * Resolves once the shell has printed something (its prompt: it reads what is typed now), or after
 * as long as the daemon gives a shell before typing a `command` anyway (3 s).
 */
export async function whenShellReady(target: string, id: string): Promise<void> {
  await waitFor(target, id, { match: "\\S", timeout_ms: 3000 }).catch(() => undefined);
}
