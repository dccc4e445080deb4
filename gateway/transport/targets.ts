/** Where a gateway finds a ghostd server. */
export type Target =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  /** Firecracker / Cloud Hypervisor hybrid vsock: a host Unix socket, then `CONNECT <port>`. */
  | { readonly kind: "fc-vsock"; readonly path: string; readonly port: number };

export class TargetError extends Error {}

/**
 * Parses `unix:/path`, `host:port` (or `tcp:host:port`, `[::1]:port`) and `fc-vsock:/path:port`.
 */
export function parseTarget(text: string): Target {
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (!path.startsWith("/")) throw new TargetError(`target ${text}: the socket path must be absolute`);
    return { kind: "unix", path };
  }
  if (text.startsWith("fc-vsock:")) {
    const rest = text.slice("fc-vsock:".length);
    const colon = rest.lastIndexOf(":");
    const path = rest.slice(0, colon);
    const port = portOf(rest.slice(colon + 1), text);
    if (colon < 0 || !path.startsWith("/")) throw new TargetError(`target ${text}: expected fc-vsock:/absolute/path:port`);
    return { kind: "fc-vsock", path, port };
  }
  const hostPort = text.replace(/^(tcp|dns):(\/\/\/)?/, "");
  const colon = hostPort.lastIndexOf(":");
  if (colon <= 0) throw new TargetError(`target ${text}: expected unix:/path, host:port or fc-vsock:/path:port`);
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { kind: "tcp", host, port: portOf(hostPort.slice(colon + 1), text) };
}

function portOf(text: string, whole: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 0 || port > 65535) throw new TargetError(`target ${whole}: "${text}" is not a port`);
  return port;
}

export function formatTarget(target: Target): string {
  switch (target.kind) {
    case "unix":
      return `unix:${target.path}`;
    case "tcp":
      return target.host.includes(":") ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
    case "fc-vsock":
      return `fc-vsock:${target.path}:${target.port}`;
  }
}
