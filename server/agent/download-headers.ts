import { Metadata } from "@grpc/grpc-js";
import { basename } from "node:path";

/**
 * What GhostVM's helper says of a file it sends, as response metadata (the Host API writes them
 * as headers): `Content-Disposition` with its name (RFC 6266, an ASCII fallback and the exact
 * name in UTF-8), and `X-Permissions`, its mode in octal.
 */
export function downloadMetadata(path: string, mode: number): Metadata {
  const name = basename(path);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const metadata = new Metadata();
  metadata.set("content-disposition", `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`);
  metadata.set("x-permissions", `0${(mode & 0o7777).toString(8).padStart(3, "0")}`);
  return metadata;
}
