#!/usr/bin/env node
import type { JsonValue } from "@bufbuild/protobuf";
import { Command, InvalidArgumentError, Option } from "commander";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { formatTarget, parseTarget } from "../gateway/transport/targets";
import { SNAPSHOT_REASONS } from "../server/supervisor/snapshots/document";
import { endpointsPath, grpcSocketPath, resolveHome } from "./config";
import { addForwardCommand } from "./forward";
import { addPackageCommands } from "./package-commands";
import { addTerminalCommands } from "./terminal-commands";
import { contractDescriptorSet, version } from "./package-info";
import type { SecretOptions } from "./secrets";

// Start-up is most of a command's time: modules that only some commands use (gRPC and the
// contract, YAML, the route list, progress bars) are imported by those commands' actions.

interface GlobalFlags {
  home?: string;
  target?: string;
}

const program = new Command()
  .name("ghostctl")
  .description("talk to a ghostd daemon over gRPC")
  .version(version)
  .addOption(new Option("--home <dir>", "the daemon's state directory").env("GHOSTD_HOME"))
  .addOption(new Option("--target <address>", "the server: unix:/path or host:port (default the home's socket)").env("GHOSTD_TARGET"));

program
  .command("services")
  .description("list every method with its HTTP route")
  .action(async () => {
    const [{ loadContract }, { buildRoutes }, { displayPath }, { GHOSTD_SERVICES }] = await Promise.all([
      import("../gateway/transcoder/descriptors.js"),
      import("../gateway/transcoder/routes.js"),
      import("../gateway/transcoder/path-template.js"),
      import("../server/rpc/service-names.js"),
    ]);
    const contract = loadContract(contractDescriptorSet());
    const routes = buildRoutes(contract, GHOSTD_SERVICES);
    for (const name of GHOSTD_SERVICES) {
      for (const method of contract.service(name).methods) {
        const bindings = routes.filter((r) => r.method === method).map((r) => `${r.httpMethod} ${displayPath(r.template)}`);
        process.stdout.write(`${name}/${method.name}${method.methodKind === "server_streaming" ? " (stream)" : ""}\t${bindings.join(", ")}\n`);
      }
    }
  });

program
  .command("routes")
  .description("print every HTTP route of both surfaces as a Markdown table (docs/http-routes.md)")
  .action(async () => {
    const [{ loadContract }, { routeListMarkdown }] = await Promise.all([import("../gateway/transcoder/descriptors.js"), import("../gateway/surfaces/route-list.js")]);
    process.stdout.write(routeListMarkdown(loadContract(contractDescriptorSet())));
  });

program
  .command("call")
  .description("call a method with a JSON request; responses are printed as JSON, one per line")
  .argument("<method>", "Service/Method, e.g. ghostd.supervisor.v1.Supervisor/ListProjects or Supervisor/ListProjects")
  .argument("[json]", "the request as JSON, or @file, or - for standard input", "{}")
  .action(async (name: string, json: string) => {
    const text = json === "-" ? readFileSync(0, "utf8") : json.startsWith("@") ? readFileSync(json.slice(1), "utf8") : json;
    await invoke(name, JSON.parse(text) as JsonValue);
  });

program
  .command("share")
  .description("queue files for the host to fetch (run inside the guest); prints the queue")
  .argument("<files...>", "files to share")
  .action(async (files: string[]) => {
    await invoke("GuestAgent/QueueFiles", { paths: files.map((file) => resolve(file)) });
  });

// Project commands: the supervisor's lifecycle, one command each.
program
  .command("ensure")
  .description("register a project: ghostctl ensure <project> <package-dir> [--app-id id] [--state dir]")
  .argument("<project>")
  .argument("<package-dir>")
  .option("--app-id <id>", "the app's id (default: read from the package's vibe.yaml)")
  .option("--state <dir>", "where the project's state lives (default: where it is for a registered project, else under the daemon's home)")
  .action(async (project: string, dir: string, flags: { appId?: string; state?: string }) => {
    const packagePath = resolve(dir);
    const appId = flags.appId ?? (await import("./app-id.js")).appIdOf(packagePath);
    await invoke("Supervisor/EnsureProject", { project_id: project, app_id: appId, package_path: packagePath, ...(flags.state ? { state_path: resolve(flags.state) } : {}) });
  });

program
  .command("open")
  .description("load a project and prepare its services; on a terminal, a bar for each image it pulls")
  .argument("<project>")
  .option("--no-progress", "draw no pull progress, even on a terminal")
  .action(async (project: string, flags: { progress: boolean }) => {
    const { openWithProgress } = await import("./progress-calls.js");
    await openWithProgress(currentTarget(), project, flags.progress);
  });

const repeatable = (value: string, all: string[] = []): string[] => [...all, value];

program
  .command("start")
  .description("start a project's services in dependency order")
  .argument("<project>")
  .option("--secret <NAME>", "a secret, its value taken from ghostctl's environment variable NAME (repeatable)", repeatable)
  .option("--secret-file <NAME=PATH>", "a secret read from a file, less one trailing newline (repeatable)", repeatable)
  .option("--secrets-from-stdin", "read secrets from standard input: NAME=VALUE lines, # comments")
  .addHelpText(
    "after",
    `
Secret values never go on the command line this way: other local users can read a process's
arguments (ps, /proc/<pid>/cmdline). --secret NAME=VALUE still works, with a warning.

  API_TOKEN="$(pass show shop/api-token)" ghostctl start shop --secret API_TOKEN
  ghostctl start shop --secret-file DB_PASSWORD=$HOME/.secrets/db
  pass show shop.env | ghostctl start shop --secrets-from-stdin

--secrets-from-stdin reads NAME=VALUE (or export NAME=VALUE) lines; the value is everything after
the first =, as it is, less one pair of matching quotes around it. Blank lines and lines starting
with # are skipped.`,
  )
  .action(async (project: string, flags: SecretOptions) => {
    const { readSecrets } = await import("./secrets.js");
    const secrets = readSecrets(flags, {
      env: process.env,
      readFile: (path) => readFileSync(path, "utf8"),
      readStdin: () => {
        if (process.stdin.isTTY) process.stderr.write("ghostctl: reading NAME=VALUE lines; end with Ctrl-D\n");
        return readFileSync(0, "utf8");
      },
      warn: (message) => process.stderr.write(`ghostctl: warning: ${message}\n`),
    });
    return invoke("Supervisor/StartProject", { project_id: project, secrets });
  });

program
  .command("stop")
  .description("stop a project's services")
  .argument("<project>")
  .option("--timeout <seconds>", "how long each service has to stop before it is killed", wholeNumber)
  .action((project: string, flags: { timeout?: number }) => invoke("Supervisor/StopProject", { project_id: project, ...(flags.timeout === undefined ? {} : { timeout_seconds: flags.timeout }) }));

program
  .command("status")
  .description("one project's status, or every project's")
  .argument("[project]")
  .action((project?: string) => (project ? invoke("Supervisor/GetProjectStatus", { project_id: project }) : invoke("Supervisor/ListProjects", {})));

program
  .command("logs")
  .description("a project's logs: the last lines, then with -f new ones as they come")
  .argument("<project>")
  .option("-f, --follow", "keep printing new lines")
  .option("-n, --tail <lines>", "how many of the last lines to print first", wholeNumber, 100)
  .option("-s, --service <name>", "only this service")
  .action(async (project: string, flags: { follow?: boolean; tail: number; service?: string }) => {
    await invoke(
      "Supervisor/GetProjectLogs",
      { project_id: project, follow: flags.follow === true, tail_lines: flags.tail, ...(flags.service ? { service_name: flags.service } : {}) },
      (json) => {
        for (const entry of (json as { entries?: { timestamp: string; service_name: string; line: string }[] }).entries ?? []) {
          process.stdout.write(`${entry.timestamp} ${entry.service_name} | ${entry.line}\n`);
        }
      },
    );
  });

program
  .command("ports")
  .description("a project's host ports, kept while it is stopped")
  .argument("<project>")
  .option("--refresh", "re-check them and move those something else took (a running project only)")
  .action((project: string, flags: { refresh?: boolean }) => invoke("Supervisor/ResolvePorts", { project_id: project, refresh: flags.refresh === true }));

program
  .command("validate")
  .description("check a Compose file against the supported subset")
  .argument("<compose-file>")
  .action((file: string) => invoke("Supervisor/ValidateCompose", { compose_content: readFileSync(file).toString("base64") }));

// Snapshot commands: save, list and restore a project's state, and duplicate a project.
const snapshot = program.command("snapshot").description("save, list and restore a project's snapshots");

snapshot
  .command("save")
  .description("snapshot a project's current state; on a terminal, a bar while it runs")
  .argument("<project>")
  .addOption(new Option("--reason <reason>", "why it is saved").choices(SNAPSHOT_REASONS).default("manual"))
  .option("--label <key=value>", "a label kept with the snapshot (repeatable)", label)
  .option("--no-progress", "draw no progress bar, even on a terminal")
  .action((project: string, flags: { reason: string; label?: Record<string, string>; progress: boolean }) =>
    invokeWithProgressOf(project, flags.progress, "Supervisor/SaveSnapshot", { project_id: project, reason: flags.reason, labels: flags.label ?? {} }),
  );

snapshot
  .command("list")
  .description("a project's snapshots, newest first")
  .argument("<project>")
  .action((project: string) => invoke("Supervisor/ListSnapshots", { project_id: project }));

snapshot
  .command("restore")
  .description("put a snapshot's state in place of the current one (saving that first); on a terminal, a bar while it runs")
  .argument("<project>")
  .argument("<snapshot-id>")
  .option("--no-safety-snapshot", "do not save the current state first")
  .option("--no-progress", "draw no progress bar, even on a terminal")
  .action((project: string, snapshotId: string, flags: { safetySnapshot: boolean; progress: boolean }) =>
    // Unset unless refused, so the server's default (a safety snapshot) applies.
    invokeWithProgressOf(project, flags.progress, "Supervisor/RestoreSnapshot", { project_id: project, snapshot_id: snapshotId, ...(flags.safetySnapshot ? {} : { create_safety_snapshot: false }) }),
  );

program
  .command("duplicate")
  .description("a new project with a copy of another's state, current or of one snapshot; on a terminal, a bar while it runs")
  .argument("<source-project>")
  .argument("<new-project>")
  .option("--snapshot <id>", "copy this snapshot's state instead of the current one")
  .option("--state-path <dir>", "where the new project's state lives (default: under the daemon's home)")
  .option("--no-progress", "draw no progress bar, even on a terminal")
  .action((source: string, target: string, flags: { snapshot?: string; statePath?: string; progress: boolean }) =>
    invokeWithProgressOf(source, flags.progress, "Supervisor/DuplicateProject", {
      source_project_id: source,
      new_project_id: target,
      ...(flags.snapshot === undefined ? {} : { snapshot_id: flags.snapshot }),
      ...(flags.statePath === undefined ? {} : { state_path: resolve(flags.statePath) }),
    }),
  );

/** `--label key=value`, added to those before; the value may hold "=" too. */
function label(value: string, labels: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError("a label is key=value, with a key before the =");
  const key = value.slice(0, at);
  if (Object.hasOwn(labels, key)) throw new InvalidArgumentError(`label ${key} is given twice`);
  return { ...labels, [key]: value.slice(at + 1) };
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("a whole number");
  return Number(value);
}

/** Calls a method with a JSON request and prints each response as a JSON line (or as `print` says). */
async function invoke(name: string, json: JsonValue, print?: (json: JsonValue) => void): Promise<void> {
  const calls = await import("./calls.js");
  await calls.invoke(currentTarget(), name, json, print);
}

async function invokeWithProgressOf(project: string, progress: boolean, name: string, json: JsonValue): Promise<void> {
  const { invokeWithProgress } = await import("./progress-calls.js");
  await invokeWithProgress(currentTarget(), project, progress, name, json);
}

/** The server this run talks to: --target, else the home's gRPC socket. */
function currentTarget(): string {
  const flags = program.opts<GlobalFlags>();
  return formatTarget(parseTarget(flags.target ?? `unix:${grpcSocketPath(resolveHome(flags.home))}`));
}

addPackageCommands(program, { home: () => resolveHome(program.opts<GlobalFlags>().home), invoke: (name, json) => invoke(name, json) });

addForwardCommand(program, () => resolveHome(program.opts<GlobalFlags>().home));

addTerminalCommands(program, { home: () => resolveHome(program.opts<GlobalFlags>().home), target: currentTarget, givenTarget: () => program.opts<GlobalFlags>().target });

program
  .command("mcp")
  .description("serve ghostd's MCP tools on standard input and output, for an MCP client (see docs/mcp.md)")
  .option("--list", "print the tools as a Markdown table (docs/mcp.md) instead")
  .action(async (flags: { list?: boolean }) => {
    if (flags.list) {
      const [{ loadContract }, { toolListMarkdown }] = await Promise.all([import("../gateway/transcoder/descriptors.js"), import("../gateway/mcp/tool-list.js")]);
      process.stdout.write(toolListMarkdown(loadContract(contractDescriptorSet())));
      return;
    }
    const { serveMcpOverStdio } = await import("./mcp.js");
    await serveMcpOverStdio(currentTarget());
  });

program
  .command("endpoints")
  .description("print where the daemon listens (its endpoints.json)")
  .action(() => {
    process.stdout.write(readFileSync(endpointsPath(resolveHome(program.opts<GlobalFlags>().home)), "utf8"));
  });

// A reader that went away (`ghostctl logs -f | head`) ends the command quietly, as it ends any
// Unix tool; the stream being written to is dropped with it.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

program.parseAsync().catch(async (err: unknown) => {
  const { describeFailure } = await import("./call-failure.js");
  process.stderr.write(`ghostctl: ${describeFailure(err, currentTarget)}\n`);
  process.exit(1);
});
