import { Option } from "commander";

/** The daemon's commands: `serve` runs both halves, `agent` only the server, `gateway` only the gateway. */
export type Mode = "serve" | "agent" | "gateway";

export const ALL_MODES: readonly Mode[] = ["serve", "agent", "gateway"];
/** The commands that run the HTTP gateway. */
export const GATEWAY_MODES: readonly Mode[] = ["serve", "gateway"];
/** The commands that run the gRPC server and its services. */
export const SERVER_MODES: readonly Mode[] = ["serve", "agent"];

/** One daemon setting, everything the flag, its variable, `--help` and the README need to know. */
export interface Setting<T> {
  /** As commander declares it: `--max-body <bytes>`, or `--allow-remote` for a switch. */
  readonly flag: string;
  /** The flag alone, `--max-body`, as error messages name it. */
  readonly name: string;
  /** Where commander keeps the flag's value (`maxBody`). */
  readonly attribute: string;
  readonly env: string;
  /** As a user would type it; undefined when leaving the setting out means something a string cannot say. */
  readonly default: string | undefined;
  readonly choices: readonly string[] | undefined;
  readonly commands: readonly Mode[];
  /** The line `--help` shows. */
  readonly help: string;
  /** The README table's cells, Markdown: what the default is, and what the setting sets. */
  readonly readme: { readonly default: string; readonly sets: string };
  /**
   * The typed value from what commander collected (the flag, else the variable, else the default);
   * undefined, as it is for a command without the flag, means the default.
   */
  read(raw: string | boolean | undefined): T;
}

interface Declaration {
  readonly flag: string;
  readonly env: string;
  readonly commands: readonly Mode[];
  readonly help: string;
  /** The README's "what it sets" cell. */
  readonly sets: string;
}

type Parser<T> = (text: string, name: string) => T;

/** A setting with a default; `parse` is given the flag's name for its error message. */
export function withDefault<T>(declaration: Declaration & { readonly default: string; readonly choices?: readonly string[]; readonly parse: Parser<T> }): Setting<T> {
  const { parse, choices } = declaration;
  const fallback = declaration.default;
  return settingOf(declaration, fallback, `\`${fallback}\``, choices, (raw, name) => parse(typeof raw === "string" ? raw : fallback, name));
}

/** A setting that may be left out; `unset` is the README's cell for what happens then. */
export function optional<T>(declaration: Declaration & { readonly unset: string; readonly parse: Parser<T> }): Setting<T | undefined> {
  const { parse } = declaration;
  return settingOf(declaration, undefined, declaration.unset, undefined, (raw, name) => (typeof raw === "string" ? parse(raw, name) : undefined));
}

/** A flag without a value: any value of its variable turns it on, as commander reads it. */
export function toggle(declaration: Declaration & { readonly unset: string }): Setting<boolean> {
  return settingOf(declaration, undefined, declaration.unset, undefined, (raw) => raw === true);
}

function settingOf<T>(
  declaration: Declaration,
  fallback: string | undefined,
  readmeDefault: string,
  choices: readonly string[] | undefined,
  read: (raw: string | boolean | undefined, name: string) => T,
): Setting<T> {
  const option = new Option(declaration.flag);
  const name = option.long ?? declaration.flag;
  return {
    flag: declaration.flag,
    name,
    attribute: option.attributeName(),
    env: declaration.env,
    default: fallback,
    choices,
    commands: declaration.commands,
    help: declaration.help,
    readme: { default: readmeDefault, sets: declaration.sets },
    read: (raw) => read(raw, name),
  };
}
