import { checkVmName, parseByteSize, parseCount, parseListen, parseMillis, parsePortRange, parseServiceUid, parseSize } from "../config";
import { loadConfigFile } from "../config-file";
import { DEFAULT_SERVICE_ID } from "../../server/supervisor/runtime/sandbox/identity";
import { RUNTIME_MODES, type RuntimeMode } from "../../server/supervisor/runtime/selection";
import { ALL_MODES, GATEWAY_MODES, optional, SERVER_MODES, toggle, withDefault, type Setting } from "./setting";

/**
 * Every setting of the daemon, each declared here only: commander's options, the typed values,
 * `--help` and the README's Configuration table are all made from this list, in its order.
 * Keys are commander's attribute names for the flags.
 */
export const SETTINGS = {
  home: optional({
    flag: "--home <dir>",
    env: "GHOSTD_HOME",
    commands: ALL_MODES,
    help: "state directory (default $XDG_DATA_HOME/ghostd or ~/.local/share/ghostd)",
    unset: "`$XDG_DATA_HOME/ghostd`, else `~/.local/share/ghostd`",
    sets: "state directory: `run/` (sockets, `endpoints.json`), `api/`, `registry.db`, `projects/`, `logs/`",
    parse: (dir) => dir,
  }),
  http: withDefault({
    flag: "--http <host:port>",
    env: "GHOSTD_HTTP",
    commands: GATEWAY_MODES,
    default: "127.0.0.1:19999",
    help: "Terminal and Supervisor HTTP listener, or off",
    sets: "Terminal and Supervisor HTTP listener; `off` disables it",
    parse: parseListen,
  }),
  allowRemote: toggle({
    flag: "--allow-remote",
    env: "GHOSTD_ALLOW_REMOTE",
    commands: ALL_MODES,
    help: "allow a non-loopback --http or --grpc-tcp address and any Host header",
    unset: "off",
    sets: "allow a non-loopback `--http` or `--grpc-tcp` address and any `Host` header",
  }),
  rootClients: withDefault({
    flag: "--root-clients <mode>",
    env: "GHOSTD_ROOT_CLIENTS",
    commands: ALL_MODES,
    default: "allow",
    choices: ["allow", "refuse"],
    help: "serve loopback TCP clients running as root (allow) or only the daemon's own user (refuse)",
    sets: "whether loopback TCP clients (HTTP, `--grpc-tcp`) running as root are served (`allow`) or only those of the daemon's own user (`refuse`); other users are always refused",
    // commander has already refused anything but the choices.
    parse: (mode): "allow" | "refuse" => (mode === "refuse" ? "refuse" : "allow"),
  }),
  hostApiDir: optional({
    flag: "--host-api-dir <dir>",
    env: "GHOSTD_HOST_API_DIR",
    commands: GATEWAY_MODES,
    help: "directory of the Host API sockets (default $GHOSTD_HOME/api)",
    unset: "`$GHOSTD_HOME/api`",
    sets: "directory of the `<vm>.GhostVM.sock` sockets",
    parse: (dir) => dir,
  }),
  vm: withDefault({
    flag: "--vm <name>",
    env: "GHOSTD_VM_NAME",
    commands: GATEWAY_MODES,
    default: "local",
    help: "name of the VM whose Host API socket to serve",
    sets: "VM name of the local Host API socket",
    parse: checkVmName,
  }),
  grpcTcp: optional({
    flag: "--grpc-tcp <host:port>",
    env: "GHOSTD_GRPC_TCP",
    commands: SERVER_MODES,
    help: "also serve gRPC over TCP",
    unset: "off",
    sets: "also serve gRPC over TCP",
    parse: (address) => address,
  }),
  grpcKeepalive: withDefault({
    flag: "--grpc-keepalive <ms>",
    env: "GHOSTD_GRPC_KEEPALIVE",
    commands: SERVER_MODES,
    default: "20000",
    help: "ping each gRPC connection this often; close one that does not answer within as long",
    sets: "interval of the gRPC server's pings; a connection that does not answer one within as long (a broken or stalled client) is closed",
    parse: (text, name) => parseMillis(text, name, 100, 3_600_000),
  }),
  grpcIdleTimeout: withDefault({
    flag: "--grpc-idle-timeout <ms>",
    env: "GHOSTD_GRPC_IDLE_TIMEOUT",
    commands: SERVER_MODES,
    default: "300000",
    help: "close a gRPC connection that has had no call for this long (clients connect again)",
    sets: "time a gRPC connection may go without a call before the server closes it; clients connect again when they need to",
    parse: (text, name) => parseMillis(text, name, 100, 86_400_000),
  }),
  maxBody: withDefault({
    flag: "--max-body <bytes>",
    env: "GHOSTD_MAX_BODY",
    commands: GATEWAY_MODES,
    default: "1048576",
    help: "largest request body accepted (1048576, 512k, 4M)",
    sets: "largest HTTP request body (`512k`, `4M` work)",
    parse: parseByteSize,
  }),
  maxUpload: withDefault({
    flag: "--max-upload <bytes>",
    env: "GHOSTD_MAX_UPLOAD",
    commands: GATEWAY_MODES,
    default: "64M",
    help: "largest raw upload on the Host API (files, clipboard)",
    sets: "largest raw upload (files, clipboard) on the Host API",
    parse: parseByteSize,
  }),
  clientTimeout: withDefault({
    flag: "--client-timeout <ms>",
    env: "GHOSTD_CLIENT_TIMEOUT",
    commands: GATEWAY_MODES,
    default: "10000",
    help: "how long an HTTP client may take over its headers, or pause while sending a body",
    sets: "time an HTTP client (TCP listener and Host API) has to send its headers, and may pause while sending a body; then 408",
    parse: (text, name) => parseCount(text, name, 3_600_000),
  }),
  execOutputLimit: withDefault({
    flag: "--exec-output-limit <bytes>",
    env: "GHOSTD_EXEC_OUTPUT_LIMIT",
    commands: SERVER_MODES,
    default: "16M",
    help: "output an exec keeps per stream before it is cut",
    sets: "output an exec keeps per stream",
    parse: parseByteSize,
  }),
  config: optional({
    flag: "--config <file>",
    env: "GHOSTD_CONFIG",
    commands: GATEWAY_MODES,
    help: "YAML file listing more VMs: vms: [{name, target}]",
    unset: "none",
    sets: "YAML listing more VMs: `vms: [{name, target}]`",
    // An empty GHOSTD_CONFIG has always meant no file.
    parse: (file) => (file === "" ? [] : loadConfigFile(file).vms),
  }),
  logLevel: withDefault({
    flag: "--log-level <level>",
    env: "GHOSTD_LOG_LEVEL",
    commands: ALL_MODES,
    default: "info",
    help: "fatal, error, warn, info, debug or trace",
    sets: "pino log level",
    // pino judges the level itself, and its error is the one users have always seen.
    parse: (level) => level,
  }),
  windowSize: withDefault({
    flag: "--window-size <cols>x<rows>",
    env: "GHOSTD_WINDOW_SIZE",
    commands: SERVER_MODES,
    default: "120x40",
    help: "size of a terminal window in cells",
    sets: "size of a terminal window in cells",
    parse: (text, name) => {
      const { a, b } = parseSize(text, name);
      return { columns: a, rows: b };
    },
  }),
  cellSize: withDefault({
    flag: "--cell-size <w>x<h>",
    env: "GHOSTD_CELL_SIZE",
    commands: SERVER_MODES,
    default: "10x20",
    help: "size of a cell in pixels",
    sets: "size of a terminal cell in pixels",
    parse: (text, name) => {
      const { a, b } = parseSize(text, name);
      return { width: a, height: b };
    },
  }),
  scrollback: withDefault({
    flag: "--scrollback <lines>",
    env: "GHOSTD_SCROLLBACK",
    commands: SERVER_MODES,
    default: "10000",
    help: "scrollback lines per terminal",
    sets: "scrollback lines per terminal",
    parse: (text, name) => parseCount(text, name, 1_000_000),
  }),
  shell: optional({
    flag: "--shell <path>",
    env: "GHOSTD_SHELL",
    commands: SERVER_MODES,
    help: "shell for terminals (default $SHELL, else /bin/bash, else /bin/sh)",
    unset: "`$SHELL`, else `/bin/bash`, else `/bin/sh`",
    sets: "shell terminals run",
    parse: (path) => path,
  }),
  portRange: withDefault({
    flag: "--port-range <from-to>",
    env: "GHOSTD_PORT_RANGE",
    commands: SERVER_MODES,
    default: "41000-41999",
    help: "host ports the supervisor hands out",
    sets: "host ports the supervisor hands to project services",
    parse: (text) => parsePortRange(text),
  }),
  packageMaxEntries: withDefault({
    flag: "--package-max-entries <n>",
    env: "GHOSTD_PACKAGE_MAX_ENTRIES",
    commands: SERVER_MODES,
    default: "10000",
    help: "most entries a .vibeapp package may hold",
    sets: "most entries an imported `.vibeapp` may hold; more is INVALID_PACKAGE",
    parse: (text, name) => parseCount(text, name, 10_000_000),
  }),
  packageMaxBytes: withDefault({
    flag: "--package-max-bytes <bytes>",
    env: "GHOSTD_PACKAGE_MAX_BYTES",
    commands: SERVER_MODES,
    default: "1G",
    help: "most bytes a .vibeapp package may unpack to",
    sets: "most bytes an imported `.vibeapp` may unpack to (`1G`, `512M` work)",
    parse: parseByteSize,
  }),
  packageMaxFileBytes: withDefault({
    flag: "--package-max-file-bytes <bytes>",
    env: "GHOSTD_PACKAGE_MAX_FILE_BYTES",
    commands: SERVER_MODES,
    default: "256M",
    help: "largest file a .vibeapp package may hold",
    sets: "largest file an imported `.vibeapp` may hold",
    parse: parseByteSize,
  }),
  sandbox: withDefault({
    flag: "--sandbox <mode>",
    env: "GHOSTD_SANDBOX",
    commands: SERVER_MODES,
    default: "auto",
    choices: ["auto", "off"],
    help: "run project services in bubblewrap: auto (when installed) or off",
    sets: "run project services in bubblewrap when installed (`auto`) or never (`off`)",
    // commander has already refused anything but the choices.
    parse: (mode): "auto" | "off" => (mode === "off" ? "off" : "auto"),
  }),
  runtime: withDefault({
    flag: "--runtime <mode>",
    env: "GHOSTD_RUNTIME",
    commands: SERVER_MODES,
    default: "auto",
    choices: [...RUNTIME_MODES],
    help: "where services run: auto (image services in containers when an engine answers), process, or container (an engine is required)",
    sets: "where project services run: `auto` (services with an image in containers when a Docker Engine API answers, the others as processes; without an engine, image services fail StartProject saying so), `process` (all as processes), `container` (like auto, and ghostd does not start without an engine)",
    // commander has already refused anything but the choices.
    parse: (mode): RuntimeMode => RUNTIME_MODES.find((m) => m === mode) ?? "auto",
  }),
  serviceUid: withDefault({
    flag: "--service-uid <uid>",
    env: "GHOSTD_SERVICE_UID",
    commands: SERVER_MODES,
    default: String(DEFAULT_SERVICE_ID),
    help: "uid and gid project services run as when ghostd runs as root",
    sets: "uid and gid project services run as when ghostd runs as root (a non-root ghostd runs them as itself)",
    parse: parseServiceUid,
  }),
  target: optional({
    flag: "--target <address>",
    env: "GHOSTD_TARGET",
    commands: ["gateway"],
    help: "the server: unix:/path, host:port or fc-vsock:/path:port (default this home's socket)",
    unset: "the home's socket",
    sets: "server to call: `unix:/path`, `host:port`, `fc-vsock:/path:port`",
    // Parsed where the gateway starts, so a bad one fails as it always has.
    parse: (address) => address,
  }),
  gatewayCalls: withDefault({
    flag: "--gateway-calls <how>",
    env: "GHOSTD_GATEWAY_CALLS",
    commands: ["serve"],
    default: "in-process",
    choices: ["in-process", "grpc"],
    help: "how the HTTP gateway calls the services beside it: in-process, or grpc over the daemon's socket",
    sets: "how `serve`'s HTTP gateway calls the services in its own process: directly (`in-process`), or over the gRPC socket (`grpc`), as `ghostd gateway` calls a server elsewhere; both behave the same",
    // commander has already refused anything but the choices.
    parse: (how): "in-process" | "grpc" => (how === "grpc" ? "grpc" : "in-process"),
  }),
};

export type SettingName = keyof typeof SETTINGS;

/** Every setting's typed value. */
export type Settings = { readonly [K in SettingName]: ReturnType<(typeof SETTINGS)[K]["read"]> };

/** What commander collected, by attribute name; a command without a flag leaves it out. */
export type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** The schema as the compiler sees it per name, so reading one keeps its type. */
const BY_NAME: { readonly [K in SettingName]: Setting<Settings[K]> } = SETTINGS;

/** Parses one setting from what commander collected; one the command lacks takes its default. */
export function readSetting<K extends SettingName>(name: K, flags: Flags): Settings[K] {
  const setting = BY_NAME[name];
  return setting.read(flags[setting.attribute]);
}

/** Parses every setting, in the schema's order, so the first bad one is the one reported. */
export function readSettings(flags: Flags): Settings {
  return Object.fromEntries(Object.keys(SETTINGS).map((name) => [name, readSetting(name as SettingName, flags)])) as Settings;
}
