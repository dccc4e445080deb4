import { Metadata } from "@grpc/grpc-js";
import type { IncomingHttpHeaders } from "node:http";
import { GatewayError } from "./errors";

const METADATA_PREFIX = "grpc-metadata-";

/**
 * Request headers that travel to the service as metadata: `Authorization`, every
 * `Grpc-Metadata-<key>` (as `<key>`), and the headers a surface names.
 */
export function requestMetadata(headers: IncomingHttpHeaders, forwarded: readonly string[]): Metadata {
  const metadata = new Metadata();
  const add = (key: string, value: string | string[] | undefined): void => {
    if (value === undefined || !key || key.startsWith("grpc-") || key.startsWith(":")) return;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (key.endsWith("-bin")) metadata.add(key, Buffer.from(v, "base64"));
      else metadata.add(key, v);
    }
  };
  add("authorization", headers.authorization);
  for (const name of forwarded) add(name, headers[name]);
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(METADATA_PREFIX)) add(name.slice(METADATA_PREFIX.length), value);
  }
  return metadata;
}

const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The deadline a `Grpc-Timeout` header (`100m`, `5S`: gRPC's own format) sets, if any. */
export function deadlineOf(header: string | undefined, now = Date.now()): Date | undefined {
  if (header === undefined) return undefined;
  const match = TIMEOUT.exec(header.trim());
  if (!match) {
    throw new GatewayError(400, "invalid_timeout", `Grpc-Timeout "${header}" is not digits followed by H, M, S, m, u or n`);
  }
  return new Date(now + Number(match[1]) * (UNIT_MS[match[2] ?? "S"] ?? 1000));
}

/** HTTP/2 headers of the gRPC transport itself, which grpc-js hands over as metadata. */
const TRANSPORT_HEADERS = new Set(["content-type", "date", "user-agent", "te", "content-length"]);

/**
 * Response metadata as HTTP headers: the keys a surface maps get its header names
 * (`x-clipboard-type` → `X-Clipboard-Type`); the others travel as `Grpc-Metadata-<key>`.
 */
export function responseHeaders(metadata: Metadata, mapped: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, values] of Object.entries(metadata.getMap())) {
    if (TRANSPORT_HEADERS.has(key) || key.startsWith("grpc-")) continue;
    const value = Buffer.isBuffer(values) ? values.toString("base64") : values;
    headers[mapped[key] ?? `Grpc-Metadata-${key}`] = value;
  }
  return headers;
}
