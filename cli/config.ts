import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Endpoints } from "./daemon";

/** `$GHOSTD_HOME`, else `$XDG_DATA_HOME/ghostd`, else `~/.local/share/ghostd`. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.GHOSTD_HOME) return env.GHOSTD_HOME;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, "ghostd");
  return join(homedir(), ".local", "share", "ghostd");
}

/** Where the daemon keeps its sockets and the endpoints file. */
export function runDir(home: string): string {
  return join(home, "run");
}

export function grpcSocketPath(home: string): string {
  return join(runDir(home), "ghostd.sock");
}

export function endpointsPath(home: string): string {
  return join(runDir(home), "endpoints.json");
}

/** What the daemon on `home` wrote of where it listens; undefined when no daemon runs there. */
export function readEndpoints(home: string): Endpoints | undefined {
  const file = endpointsPath(home);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Endpoints) : undefined;
}

export class ConfigError extends Error {}

/** `HOST:PORT` (`[::1]:PORT` for IPv6), or `off`. */
export function parseListen(text: string, what: string): { host: string; port: number } | undefined {
  if (text === "off") return undefined;
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`${what} "${text}" is not HOST:PORT or off`);
  }
  return { host: match[1].replace(/^\[(.*)\]$/, "$1"), port };
}

export function parseByteSize(text: string, what: string): number {
  const match = /^(\d+)\s*([kKmMgG]i?[bB]?)?$/.exec(text.trim());
  if (!match) throw new ConfigError(`${what} "${text}" is not a size (1048576, 512k, 4M)`);
  const unit = (match[2] ?? "").charAt(0).toLowerCase();
  const scale = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  return Number(match[1]) * scale;
}

const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkVmName(name: string): string {
  if (!VM_NAME.test(name)) throw new ConfigError(`VM name "${name}" must be letters, digits, ".", "_" or "-" (at most 64)`);
  return name;
}

/** `COLUMNSxROWS` or `WIDTHxHEIGHT`: two positive integers. */
export function parseSize(text: string, what: string): { a: number; b: number } {
  const match = /^(\d+)x(\d+)$/.exec(text.trim());
  const a = Number(match?.[1]);
  const b = Number(match?.[2]);
  if (!match || a < 1 || b < 1 || a > 10000 || b > 10000) throw new ConfigError(`${what} "${text}" is not two positive numbers like 120x40`);
  return { a, b };
}

export function parseCount(text: string, what: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > max) throw new ConfigError(`${what} "${text}" is not a whole number up to ${max}`);
  return n;
}

/** Milliseconds, from `min` (below it a timer would fire on work that is merely under way) to `max`. */
export function parseMillis(text: string, what: string, min: number, max: number): number {
  const n = parseCount(text, what, max);
  if (n < min) throw new ConfigError(`${what} "${text}" is less than ${min} ms`);
  return n;
}

/** `FROM-TO`, both ports, FROM at most TO. */
export function parsePortRange(text: string): { from: number; to: number } {
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (!match || from < 1 || to > 65535 || from > to) throw new ConfigError(`--port-range "${text}" is not FROM-TO with ports from 1 to 65535`);
  return { from, to };
}

/** A uid for services: any but root's, which would give services root's files. */
export function parseServiceUid(text: string): number {
  const uid = parseCount(text, "--service-uid", 2 ** 32 - 2);
  if (uid === 0) throw new ConfigError("--service-uid 0 would run services as root; choose an unprivileged uid");
  return uid;
}
