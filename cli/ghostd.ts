#!/usr/bin/env node
import { Command } from "commander";
import pino from "pino";
import { ConfigError } from "./config";
import { startDaemon, type RunningDaemon } from "./daemon";
import { HomeLockedError } from "./home-lock";
import { version } from "./package-info";
import { addSettings } from "./settings/commander";
import { daemonOptions } from "./settings/daemon-options";
import { settingsTableMarkdown } from "./settings/markdown";
import { readSetting, readSettings, type Flags } from "./settings/schema";
import { ALL_MODES, type Mode } from "./settings/setting";
import { ListenError } from "../gateway/gateway";
import { TargetError } from "../gateway/transport/targets";
import { LogRing } from "../server/log-ring";
import { daemonLogger } from "../server/logger";
import { NotOwnerOnlyError } from "../server/owner-only";
import { SocketInUseError } from "../server/rpc/unix-socket";

const program = new Command()
  .name("ghostd")
  .description("ghostd: a gRPC-first supervisor for developer sandboxes")
  .version(version);

const descriptions: Record<Mode, string> = {
  serve: "run the server and the gateway in one process (the default)",
  agent: "run only the gRPC server (inside a VM or container)",
  gateway: "run only the HTTP gateway, in front of a server elsewhere",
};
for (const mode of ALL_MODES) {
  addSettings(program.command(mode, { isDefault: mode === "serve" }).description(descriptions[mode]), mode).action((flags: Flags) => run(mode, flags));
}

program
  .command("settings")
  .argument("[names...]", "only these, by flag without the dashes: window-size shell")
  .description("print the settings as the Markdown table of README.md's Configuration section")
  .action((names: string[]) => {
    process.stdout.write(settingsTableMarkdown(names));
  });

async function run(mode: Mode, flags: Flags): Promise<void> {
  const logs = new LogRing();
  const logger = daemonLogger(readSetting("logLevel", flags), { pid: process.pid, mode }, undefined, logs);
  // Handlers go in before anything listens: until they are, SIGTERM's default action would end
  // the process at once, and a client that saw the endpoints file may already be sending it.
  const shutdown = shutdownOn(["SIGINT", "SIGTERM"], logger);
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  try {
    shutdown.started(await startDaemon({ ...daemonOptions(mode, readSettings(flags), logger), logs }));
  } catch (err) {
    const known = [ConfigError, HomeLockedError, ListenError, NotOwnerOnlyError, SocketInUseError, TargetError].some((kind) => err instanceof kind);
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
