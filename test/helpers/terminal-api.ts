import assert from "node:assert/strict";
import { call, type Reply } from "./http";

export interface TerminalJson {
  id: string;
  title: string;
  working_directory?: string;
  kind: string;
  focused: boolean;
  columns: number;
  rows: number;
  cell_width: number;
  cell_height: number;
  statusbar: { left: string; center: string; right: string; visible: boolean };
  last_exit_code?: number;
  at_prompt: boolean;
  window_id: string;
  tab: number;
  pid: number;
}

/** A thin client of the Terminal API v2 for tests: every call checks its status. */
export class TerminalApi {
  constructor(readonly base: string) {}

  request(method: string, path: string, body?: unknown): Promise<Reply> {
    const options = { base: this.base, method, path: `/api/v2${path}` };
    return call(body === undefined ? options : { ...options, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  }

  async ok<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const reply = await this.request(method, path, body);
    assert.equal(reply.status, 200, `${method} ${path}: ${reply.status} ${reply.text}`);
    return reply.json<T>();
  }

  create(body: Record<string, unknown> = {}): Promise<TerminalJson> {
    return this.ok<TerminalJson>("POST", "/terminals", body);
  }

  get(id: string): Promise<TerminalJson> {
    return this.ok<TerminalJson>("GET", `/terminals/${id}`);
  }

  async list(): Promise<TerminalJson[]> {
    return (await this.ok<{ terminals: TerminalJson[] }>("GET", "/terminals")).terminals;
  }

  input(id: string, text: string, enter = true): Promise<unknown> {
    return this.ok("POST", `/terminals/${id}/input`, { text, enter });
  }

  key(id: string, key: string, mods: string[] = [], action?: string): Promise<{ success: boolean; sent: boolean; note?: string }> {
    return this.ok("POST", `/terminals/${id}/key`, action ? { key, mods, action } : { key, mods });
  }

  action(id: string, action: string): Promise<unknown> {
    return this.ok("POST", `/terminals/${id}/action`, { action });
  }

  /** Waits, server side, until the screen matches. */
  wait(id: string, match: string, options: { scope?: string; timeout_ms?: number } = {}): Promise<{ match: string; line: number; column: number; text: string }> {
    return this.ok("POST", `/terminals/${id}/wait`, { match, timeout_ms: 10_000, ...options });
  }

  async detail(id: string, type: string): Promise<string> {
    return (await this.ok<{ value: string }>("GET", `/terminals/${id}/details/${type}`)).value;
  }

  async close(id: string): Promise<void> {
    await this.ok("DELETE", `/terminals/${id}`);
  }

  /** Runs a shell command and waits for a marker printed after it. */
  async run(id: string, command: string, marker = `DONE${Math.random().toString(36).slice(2, 8)}`): Promise<void> {
    await this.input(id, `${command}; echo ${marker.slice(0, 2)}''${marker.slice(2)}`);
    await this.wait(id, `^${marker}$`, { scope: "contents" });
  }
}

/** Hex of what a program receives for these bytes. */
export const hex = (text: string): string => Buffer.from(text, "latin1").toString("hex");
