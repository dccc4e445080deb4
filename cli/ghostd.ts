#!/usr/bin/env node
import { Command, Option } from "commander";
import { join } from "node:path";
import pino from "pino";
import { checkVmName, ConfigError, DEFAULT_HTTP, DEFAULT_MAX_BODY, DEFAULT_VM, parseByteSize, parseCount, parseListen, parsePortRange, parseSize, resolveHome } from "./config";
import { loadConfigFile } from "./config-file";
import { startDaemon, type DaemonOptions, type RunningDaemon } from "./daemon";
import { HomeLockedError } from "./home-lock";
import { version } from "./package-info";
import { ListenError } from "../gateway/gateway";
import { TargetError } from "../gateway/transport/targets";
import { SocketInUseError } from "../server/rpc/unix-socket";

/** Flags as commander gives them; the gateway's are absent in agent mode. */
interface Flags {
  home?: string;
  http?: string;
  hostApiDir?: string;
  vm?: string;
  grpcTcp?: string;
  target?: string;
  allowRemote?: boolean;
  maxBody?: string;
  maxUpload?: string;
  clientTimeout?: string;
  execOutputLimit?: string;
  config?: string;
  portRange?: string;
  sandbox?: string;
  logLevel: string;
  windowSize?: string;
  cellSize?: string;
  scrollback?: string;
  shell?: string;
}

type Mode = "serve" | "agent" | "gateway";

const program = new Command()
  .name("ghostd")
  .description("ghostd: a gRPC-first supervisor for developer sandboxes")
  .version(version);

const common = (command: Command): Command =>
  command
    .addOption(new Option("--home <dir>", "state directory (default $XDG_DATA_HOME/ghostd or ~/.local/share/ghostd)").env("GHOSTD_HOME"))
    .addOption(new Option("--log-level <level>", "fatal, error, warn, info, debug or trace").env("GHOSTD_LOG_LEVEL").default("info"));

const gatewayFlags = (command: Command): Command =>
  command
    .addOption(new Option("--http <host:port>", "Terminal and Supervisor HTTP listener, or off").env("GHOSTD_HTTP").default(DEFAULT_HTTP))
    .addOption(new Option("--allow-remote", "allow a non-loopback --http address and any Host header").env("GHOSTD_ALLOW_REMOTE"))
    .addOption(new Option("--host-api-dir <dir>", "directory of the Host API sockets (default $GHOSTD_HOME/api)").env("GHOSTD_HOST_API_DIR"))
    .addOption(new Option("--vm <name>", "name of the VM whose Host API socket to serve").env("GHOSTD_VM_NAME").default(DEFAULT_VM))
    .addOption(new Option("--max-body <bytes>", "largest request body accepted (1048576, 512k, 4M)").env("GHOSTD_MAX_BODY").default(String(DEFAULT_MAX_BODY)))
    .addOption(new Option("--max-upload <bytes>", "largest raw upload on the Host API (files, clipboard)").env("GHOSTD_MAX_UPLOAD").default("64M"))
    .addOption(new Option("--client-timeout <ms>", "how long a Host API client may take to send its request").env("GHOSTD_CLIENT_TIMEOUT").default("10000"))
    .addOption(new Option("--config <file>", "YAML file listing more VMs: vms: [{name, target}]").env("GHOSTD_CONFIG"));

const serverFlags = (command: Command): Command =>
  command
    .addOption(new Option("--grpc-tcp <host:port>", "also serve gRPC over TCP").env("GHOSTD_GRPC_TCP"))
    .addOption(new Option("--window-size <cols>x<rows>", "size of a terminal window in cells").env("GHOSTD_WINDOW_SIZE").default("120x40"))
    .addOption(new Option("--cell-size <w>x<h>", "size of a cell in pixels").env("GHOSTD_CELL_SIZE").default("10x20"))
    .addOption(new Option("--scrollback <lines>", "scrollback lines per terminal").env("GHOSTD_SCROLLBACK").default("10000"))
    .addOption(new Option("--shell <path>", "shell for terminals (default $SHELL, else /bin/bash, else /bin/sh)").env("GHOSTD_SHELL"))
    .addOption(new Option("--exec-output-limit <bytes>", "output an exec keeps per stream before it is cut").env("GHOSTD_EXEC_OUTPUT_LIMIT").default("16M"))
    .addOption(new Option("--port-range <from-to>", "host ports the supervisor hands out").env("GHOSTD_PORT_RANGE").default("41000-41999"))
    .addOption(new Option("--sandbox <mode>", "run project services in bubblewrap: auto (when installed) or off").env("GHOSTD_SANDBOX").choices(["auto", "off"]).default("auto"));

serverFlags(gatewayFlags(common(program.command("serve", { isDefault: true }).description("run the server and the gateway in one process (the default)")))).action(
  (flags: Flags) => run("serve", flags),
);
serverFlags(common(program.command("agent").description("run only the gRPC server (inside a VM or container)"))).action((flags: Flags) =>
  run("agent", flags),
);
gatewayFlags(common(program.command("gateway").description("run only the HTTP gateway, in front of a server elsewhere")))
  .addOption(new Option("--target <address>", "the server: unix:/path, host:port or fc-vsock:/path:port (default this home's socket)").env("GHOSTD_TARGET"))
  .action((flags: Flags) => run("gateway", flags));

function optionsOf(mode: Mode, flags: Flags, logger: pino.Logger): DaemonOptions {
  const home = resolveHome(flags.home);
  return {
    home,
    logger,
    server: mode !== "gateway",
    grpcTcp: flags.grpcTcp,
    gateway: mode !== "agent",
    target: flags.target,
    http: flags.http === undefined ? undefined : parseListen(flags.http, "--http"),
    allowRemote: flags.allowRemote === true,
    hostApiDir: flags.hostApiDir ?? join(home, "api"),
    vm: checkVmName(flags.vm ?? DEFAULT_VM),
    vms: flags.config ? loadConfigFile(flags.config).vms : [],
    maxBodyBytes: parseByteSize(flags.maxBody ?? String(DEFAULT_MAX_BODY), "--max-body"),
    maxUploadBytes: parseByteSize(flags.maxUpload ?? "64M", "--max-upload"),
    clientTimeoutMs: parseCount(flags.clientTimeout ?? "10000", "--client-timeout", 3_600_000),
    execOutputLimit: parseByteSize(flags.execOutputLimit ?? "16M", "--exec-output-limit"),
    portRange: parsePortRange(flags.portRange ?? "41000-41999"),
    sandbox: flags.sandbox === "off" ? "off" : "auto",
    terminals: terminalOptions(flags),
  };
}

function terminalOptions(flags: Flags): DaemonOptions["terminals"] {
  const window = parseSize(flags.windowSize ?? "120x40", "--window-size");
  const cell = parseSize(flags.cellSize ?? "10x20", "--cell-size");
  return {
    windowColumns: window.a,
    windowRows: window.b,
    cellWidth: cell.a,
    cellHeight: cell.b,
    scrollback: parseCount(flags.scrollback ?? "10000", "--scrollback", 1_000_000),
    shell: flags.shell,
  };
}

async function run(mode: Mode, flags: Flags): Promise<void> {
  const logger = pino({ level: flags.logLevel, base: { pid: process.pid, mode } });
  // Handlers go in before anything listens: until they are, SIGTERM's default action would end
  // the process at once, and a client that saw the endpoints file may already be sending it.
  const shutdown = shutdownOn(["SIGINT", "SIGTERM"], logger);
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  try {
    shutdown.started(await startDaemon(optionsOf(mode, flags, logger)));
  } catch (err) {
    const known = [ConfigError, HomeLockedError, ListenError, SocketInUseError, TargetError].some((kind) => err instanceof kind);
    logger.fatal(known ? { reason: (err as Error).message } : { err }, `ghostd ${mode} cannot start`);
    process.stderr.write(`ghostd: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

/** Closes the daemon on the first of `signals` (once it has started) and exits; a second one exits at once. */
function shutdownOn(signals: readonly NodeJS.Signals[], logger: pino.Logger): { started(daemon: RunningDaemon): void } {
  let daemon: RunningDaemon | undefined;
  let requested: NodeJS.Signals | undefined;
  // The last lines are flushed before the process ends, so the log says how it stopped.
  const exit = (code: number) => logger.flush(() => process.exit(code));
  const close = (running: RunningDaemon, signal: NodeJS.Signals): void => {
    logger.info({ signal }, "shutting down");
    running.close().then(
      () => {
        logger.info("stopped");
        exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (requested) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    requested = signal;
    if (daemon) close(daemon, signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return {
    started(running) {
      daemon = running;
      if (requested) close(running, requested);
    },
  };
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`ghostd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
