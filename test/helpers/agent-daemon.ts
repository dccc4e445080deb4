import { spawnDaemon, type DaemonProcess } from "./daemon";
import { HostApi } from "./host-api";
import { tempDir } from "./tmp";

export interface AgentDaemon {
  /** The guest user's home: HOME of the daemon, a fresh directory. */
  readonly home: string;
  readonly daemon: DaemonProcess;
  /** A client of the daemon's Host API socket. */
  readonly api: HostApi;
  readonly socketPath: string;
}

/**
 * A daemon as a VM's guest agent: the Host API socket only (no HTTP listener), with HOME a fresh
 * directory. Started before the suite's tests and stopped, its home removed, after them.
 */
export function agentDaemon(prefix: string): AgentDaemon {
  const home = tempDir(prefix);
  let daemon: DaemonProcess | undefined;
  let api: HostApi | undefined;
  before(async () => {
    daemon = await spawnDaemon({ args: ["--http", "off"], env: { HOME: home.path } });
    api = new HostApi(daemon.endpoints.host_api.local ?? "");
  });
  after(async () => {
    await daemon?.stop();
    daemon?.cleanup();
    home.remove();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the agent daemon is used before its suite's before hook has started it");
    return value;
  };
  return {
    home: home.path,
    get daemon() {
      return started(daemon);
    },
    get api() {
      return started(api);
    },
    get socketPath() {
      return started(api).socketPath;
    },
  };
}
