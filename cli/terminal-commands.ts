import { InvalidArgumentError, Option, type Command } from "commander";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_DETACH_KEY, parseDetachKey } from "./detach-key";
import { outputForStdout, renderTable, type Column } from "./output-format";
import type { TerminalJson } from "./terminal-calls";

// The terminal commands: `attach` (over the daemon's WebSocket), and `terminals`, `new`, `send`
// and `screen` (over gRPC, like the rest of ghostctl). gRPC, the contract and ws are imported by
// the actions, so registering these costs ghostctl's start-up nothing.

export interface TerminalCommandContext {
  /** The daemon's home (--home, GHOSTD_HOME, the default). */
  home(): string;
  /** The gRPC server the calls go to. */
  target(): string;
  /** --target (or GHOSTD_TARGET) as given, if it was. */
  givenTarget(): string | undefined;
}

interface AttachFlags {
  detachKey: string;
}

const detachKeyOption = (): Option =>
  new Option("--detach-key <key>", "the key that detaches and leaves the terminal running: ctrl-X, C-X or ^X, or none").env("GHOSTCTL_DETACH_KEY").default(DEFAULT_DETACH_KEY);

export function addTerminalCommands(program: Command, context: TerminalCommandContext): void {
  addAttach(program, context);
  addList(program, context);
  addNew(program, context);
  addSend(program, context);
  addScreen(program, context);
}

function addAttach(program: Command, context: TerminalCommandContext): void {
  program
    .command("attach")
    .description("attach this terminal to a ghostd terminal, as tmux attach does; the detach key (Ctrl-\\) leaves it running")
    .argument("<terminal-id>")
    .addOption(detachKeyOption())
    .action(async (id: string, flags: AttachFlags) => {
      const key = parseDetachKey(flags.detachKey);
      const http = await httpOf(context);
      process.exitCode = await (await import("./terminal-attach.js")).attachTerminal(http, id, key);
    });
}

async function httpOf(context: TerminalCommandContext): Promise<string> {
  const { daemonHttp } = await import("./terminal-endpoint.js");
  return daemonHttp(context.home(), context.givenTarget());
}

const TERMINAL_COLUMNS: readonly Column<TerminalJson>[] = [
  { title: "ID", value: (t) => t.id, style: (t) => (t.focused ? "green" : undefined) },
  { title: "SIZE", value: (t) => `${t.columns}x${t.rows}` },
  { title: "PID", value: (t) => String(t.pid) },
  { title: "DIRECTORY", value: (t) => t.working_directory ?? "" },
  { title: "TITLE", value: (t) => t.title },
];

function addList(program: Command, context: TerminalCommandContext): void {
  program
    .command("terminals")
    .description("list the daemon's terminals: a table on a terminal (the focused one's id in green), JSON with --json or into a pipe")
    .option("--json", "print the list as JSON, as ListTerminals answers it")
    .action(async (flags: { json?: boolean }) => {
      const terminals = await (await import("./terminal-calls.js")).listTerminals(context.target());
      const output = outputForStdout(flags.json);
      if (output.format === "json") process.stdout.write(`${JSON.stringify({ terminals })}\n`);
      else if (terminals.length === 0) process.stderr.write("no terminals; ghostctl new makes one\n");
      else process.stdout.write(renderTable(TERMINAL_COLUMNS, terminals, output.colour));
    });
}

interface NewFlags extends AttachFlags {
  cwd?: string;
  attach: boolean;
  json?: boolean;
}

function addNew(program: Command, context: TerminalCommandContext): void {
  program
    .command("new")
    .description("create a terminal and attach to it; with a command, the terminal runs it and ends with it")
    .argument("[command...]", "typed into the terminal's shell (words joined with spaces, as ssh does), followed by ; exit")
    .option("--cwd <dir>", "the shell's working directory (default: the daemon's, its user's home)")
    .option("--no-attach", "only create it, and print its id")
    .option("--json", "with --no-attach, print the terminal as JSON instead of its id")
    .addOption(detachKeyOption())
    .action(async (words: string[], flags: NewFlags) => {
      const key = parseDetachKey(flags.detachKey);
      // Before creating anything: a terminal nobody can attach to would be left behind.
      const http = flags.attach ? await httpOf(context) : undefined;
      const command = words.length > 0 ? words.join(" ") : undefined;
      const calls = await import("./terminal-calls.js");
      const cwd = flags.cwd === undefined ? {} : { working_directory: resolve(flags.cwd) };
      if (http === undefined) {
        const terminal = await calls.createTerminal(context.target(), { ...cwd, ...(command === undefined ? {} : { command }) });
        process.stdout.write(flags.json === true ? `${JSON.stringify(terminal)}\n` : `${terminal.id}\n`);
        return;
      }
      // The command is typed only once ghostctl is attached: given to the daemon, a quick one
      // could end the terminal before the attachment opened, and its exit code would be lost.
      const { id } = await calls.createTerminal(context.target(), cwd);
      const typed = command === undefined ? undefined : calls.whenShellReady(context.target(), id).then(() => `${command}; exit\r`);
      process.exitCode = await (await import("./terminal-attach.js")).attachTerminal(http, id, key, typed);
    });
}

function addSend(program: Command, context: TerminalCommandContext): void {
  program
    .command("send")
    .description("type text into a terminal, as a paste; no Enter unless --enter (line breaks in the text are Enter)")
    .argument("<terminal-id>")
    .argument("<text>", "the text, or - to read it from standard input")
    .option("--enter", "press Enter after the text, so a shell runs it")
    .option("--no-paste", "type the text as keys instead of pasting it (for editors and prompts that treat a paste as text)")
    .option("--json", "print the reply as JSON")
    .action(async (id: string, text: string, flags: { enter?: boolean; paste: boolean; json?: boolean }) => {
      const body = { text: text === "-" ? readFileSync(0, "utf8") : text, enter: flags.enter === true, ...(flags.paste ? {} : { paste: false }) };
      const reply = await (await import("./terminal-calls.js")).inputText(context.target(), id, body);
      if (flags.json === true) process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
}

function milliseconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("a whole number of milliseconds");
  return Number(value);
}

interface ScreenFlags {
  all?: boolean;
  wait?: string;
  timeout: number;
  json?: boolean;
}

function addScreen(program: Command, context: TerminalCommandContext): void {
  program
    .command("screen")
    .description("print the text a terminal shows (with --all, its scrollback too), as a user would copy it")
    .argument("<terminal-id>")
    .option("--all", "the scrollback and the screen, not only the screen")
    .option("--wait <regex>", "first wait until the text matches (a JavaScript regular expression, multiline), so a script need not poll")
    .option("--timeout <ms>", "how long --wait waits before failing", milliseconds, 10_000)
    .option("--json", "print {type, value} as GetTerminalDetails answers it")
    .action(async (id: string, flags: ScreenFlags) => {
      const calls = await import("./terminal-calls.js");
      const scope = flags.all === true ? "contents" : "visible";
      if (flags.wait !== undefined) await calls.waitFor(context.target(), id, { match: flags.wait, timeout_ms: flags.timeout, scope });
      const text = await calls.screenText(context.target(), id, flags.all === true);
      if (flags.json === true) process.stdout.write(`${JSON.stringify({ type: scope, value: text })}\n`);
      else process.stdout.write(text === "" || text.endsWith("\n") ? text : `${text}\n`);
    });
}
