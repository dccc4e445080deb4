import assert from "node:assert/strict";
import { terminalApi, type TerminalApiClient, type TerminalApiPaths } from "../../client";
import type { components } from "../../generated/openapi/terminal-api";
import { call, type Reply } from "./http";

type Schemas = components["schemas"];
export type TerminalJson = Schemas["ghostd.terminal.v1.Terminal"];
type CreateBody = NonNullable<TerminalApiPaths["/api/v2/terminals"]["post"]["requestBody"]>["content"]["application/json"];
type KeyBody = Schemas["ghostd.terminal.v1.SendKeyRequest"];
export type Modifiers = NonNullable<KeyBody["mods"]>;
type WaitBody = Schemas["ghostd.terminal.v1.WaitRequest"];
type DetailType = TerminalApiPaths["/api/v2/terminals/{id}/details/{type}"]["get"]["parameters"]["path"]["type"];

/** What every typed call answers; the status is checked before the data is used. */
interface Answer<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/**
 * A thin client of the Terminal API v2 for tests: every call checks its status. The named calls go
 * through the typed client (ghostd/client), so the tests compile against the same contract users
 * get; `request` and `ok` stay raw, for requests the types would not let through.
 */
export class TerminalApi {
  readonly client: TerminalApiClient;

  constructor(readonly base: string) {
    this.client = terminalApi({ baseUrl: base });
  }

  request(method: string, path: string, body?: unknown): Promise<Reply> {
    const options = { base: this.base, method, path: `/api/v2${path}` };
    return call(body === undefined ? options : { ...options, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  }

  async ok<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const reply = await this.request(method, path, body);
    assert.equal(reply.status, 200, `${method} ${path}: ${reply.status} ${reply.text}`);
    return reply.json<T>();
  }

  create(body: CreateBody = {}): Promise<TerminalJson> {
    return answered("POST /terminals", this.client.POST("/api/v2/terminals", { body }));
  }

  get(id: string): Promise<TerminalJson> {
    return answered(`GET /terminals/${id}`, this.client.GET("/api/v2/terminals/{id}", { params: { path: { id } } }));
  }

  async list(): Promise<TerminalJson[]> {
    return (await answered("GET /terminals", this.client.GET("/api/v2/terminals"))).terminals;
  }

  input(id: string, text: string, enter = true): Promise<unknown> {
    return answered(`POST /terminals/${id}/input`, this.client.POST("/api/v2/terminals/{id}/input", { params: { path: { id } }, body: { text, enter } }));
  }

  key(id: string, key: string, mods: KeyBody["mods"] = [], action?: KeyBody["action"]): Promise<{ success: boolean; sent: boolean; note?: string }> {
    const body = action ? { key, mods, action } : { key, mods };
    return answered(`POST /terminals/${id}/key`, this.client.POST("/api/v2/terminals/{id}/key", { params: { path: { id } }, body }));
  }

  action(id: string, action: string): Promise<unknown> {
    return answered(`POST /terminals/${id}/action`, this.client.POST("/api/v2/terminals/{id}/action", { params: { path: { id } }, body: { action } }));
  }

  /** Waits, server side, until the screen matches. */
  wait(id: string, match: string, options: Pick<WaitBody, "scope" | "timeout_ms"> = {}): Promise<{ match: string; line: number; column: number; text: string }> {
    const body = { match, timeout_ms: 10_000, ...options };
    return answered(`POST /terminals/${id}/wait`, this.client.POST("/api/v2/terminals/{id}/wait", { params: { path: { id } }, body }));
  }

  async detail(id: string, type: DetailType): Promise<string> {
    return (await answered(`GET /terminals/${id}/details/${type}`, this.client.GET("/api/v2/terminals/{id}/details/{type}", { params: { path: { id, type } } }))).value;
  }

  async close(id: string): Promise<void> {
    await answered(`DELETE /terminals/${id}`, this.client.DELETE("/api/v2/terminals/{id}", { params: { path: { id } } }));
  }

  /** Runs a shell command and waits for a marker printed after it. */
  async run(id: string, command: string, marker = `DONE${Math.random().toString(36).slice(2, 8)}`): Promise<void> {
    await this.input(id, `${command}; echo ${marker.slice(0, 2)}''${marker.slice(2)}`);
    await this.wait(id, `^${marker}$`, { scope: "contents" });
  }
}

async function answered<T>(what: string, call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  assert.equal(response.status, 200, `${what}: ${response.status} ${JSON.stringify(error)}`);
  assert.ok(data !== undefined, what);
  return data;
}

/** Hex of what a program receives for these bytes. */
export const hex = (text: string): string => Buffer.from(text, "latin1").toString("hex");
