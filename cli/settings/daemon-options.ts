import { join } from "node:path";
import type { Logger } from "pino";
import { resolveHome } from "../config";
import type { DaemonOptions, GatewayHalf, ServerHalf } from "../daemon";
import type { Settings } from "./schema";
import type { Mode } from "./setting";

/** Sorts the settings into the groups each module of the daemon takes; a half `mode` does not run gets none. */
export function daemonOptions(mode: Mode, settings: Settings, logger: Logger): DaemonOptions {
  const home = resolveHome(settings.home);
  return {
    home,
    logger,
    server: mode === "gateway" ? undefined : serverHalf(settings),
    gateway: mode === "agent" ? undefined : gatewayHalf(settings, home),
  };
}

function serverHalf(settings: Settings): ServerHalf {
  return {
    grpc: { tcp: settings.grpcTcp, allowRemote: settings.allowRemote, allowRootClients: settings.rootClients === "allow", keepaliveMs: settings.grpcKeepalive, idleTimeoutMs: settings.grpcIdleTimeout },
    agent: { execOutputLimit: settings.execOutputLimit },
    supervisor: {
      portRange: settings.portRange,
      sandbox: settings.sandbox,
      serviceUid: settings.serviceUid,
      runtime: settings.runtime,
      packageLimits: { maxEntries: settings.packageMaxEntries, maxUnpackedBytes: settings.packageMaxBytes, maxFileBytes: settings.packageMaxFileBytes },
    },
    terminals: {
      windowColumns: settings.windowSize.columns,
      windowRows: settings.windowSize.rows,
      cellWidth: settings.cellSize.width,
      cellHeight: settings.cellSize.height,
      scrollback: settings.scrollback,
      shell: settings.shell,
    },
  };
}

function gatewayHalf(settings: Settings, home: string): GatewayHalf {
  return {
    target: settings.target,
    calls: settings.gatewayCalls,
    http: settings.http,
    allowRemote: settings.allowRemote,
    allowRootClients: settings.rootClients === "allow",
    hostApiDir: settings.hostApiDir ?? join(home, "api"),
    vm: settings.vm,
    vms: settings.config ?? [],
    maxBodyBytes: settings.maxBody,
    maxUploadBytes: settings.maxUpload,
    clientTimeoutMs: settings.clientTimeout,
  };
}
