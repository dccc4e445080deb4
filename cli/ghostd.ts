#!/usr/bin/env node
import { Command } from "commander";
import { join } from "node:path";
import pino from "pino";
import { ConfigError, resolveHome } from "./config";
import { startDaemon, type DaemonOptions, type RunningDaemon } from "./daemon";
import { HomeLockedError } from "./home-lock";
import { version } from "./package-info";
import { addSettings } from "./settings/commander";
import { readSetting, readSettings, type Flags } from "./settings/schema";
import type { Mode } from "./settings/setting";
import { ListenError } from "../gateway/gateway";
import { TargetError } from "../gateway/transport/targets";
import { SocketInUseError } from "../server/rpc/unix-socket";

const program = new Command()
  .name("ghostd")
  .description("ghostd: a gRPC-first supervisor for developer sandboxes")
  .version(version);

addSettings(program.command("serve", { isDefault: true }).description("run the server and the gateway in one process (the default)"), "serve").action(
  (flags: Flags) => run("serve", flags),
);
addSettings(program.command("agent").description("run only the gRPC server (inside a VM or container)"), "agent").action((flags: Flags) => run("agent", flags));
addSettings(program.command("gateway").description("run only the HTTP gateway, in front of a server elsewhere"), "gateway").action((flags: Flags) =>
  run("gateway", flags),
);

function optionsOf(mode: Mode, flags: Flags, logger: pino.Logger): DaemonOptions {
  const settings = readSettings(flags);
  const home = resolveHome(settings.home);
  return {
    home,
    logger,
    server: mode !== "gateway",
    grpcTcp: settings.grpcTcp,
    gateway: mode !== "agent",
    target: settings.target,
    http: settings.http,
    allowRemote: settings.allowRemote,
    hostApiDir: settings.hostApiDir ?? join(home, "api"),
    vm: settings.vm,
    vms: settings.config ?? [],
    maxBodyBytes: settings.maxBody,
    maxUploadBytes: settings.maxUpload,
    clientTimeoutMs: settings.clientTimeout,
    execOutputLimit: settings.execOutputLimit,
    portRange: settings.portRange,
    sandbox: settings.sandbox,
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

async function run(mode: Mode, flags: Flags): Promise<void> {
  const logger = pino({ level: readSetting("logLevel", flags), base: { pid: process.pid, mode } });
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
