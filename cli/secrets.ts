import { ENV_NAME } from "../server/supervisor/manifest";

/** Where `ghostctl start` takes secrets from: its options, as commander parsed them. */
export interface SecretOptions {
  /** `--secret NAME` (the value from ghostctl's environment) or `--secret NAME=VALUE`. */
  readonly secret?: readonly string[];
  /** `--secret-file NAME=PATH`. */
  readonly secretFile?: readonly string[];
  readonly secretsFromStdin?: boolean;
}

/** What reading secrets needs from the outside, so that tests can give it. */
export interface SecretSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): string;
  readStdin(): string;
  warn(message: string): void;
}

/**
 * A secret that cannot be read. Its message names the option, the name, a path or a line number,
 * never a value: an argument given where a name belongs may well be the value itself.
 */
export class SecretInputError extends Error {}

/** The secrets the options give, by name. Fails on the first one that cannot be read. */
export function readSecrets(options: SecretOptions, sources: SecretSources): Record<string, string> {
  const entries = [
    ...(options.secret ?? []).map((argument) => fromArgument(argument, sources)),
    ...(options.secretFile ?? []).map((argument) => fromFile(argument, sources)),
    ...(options.secretsFromStdin ? fromStdinText(readStdin(sources)) : []),
  ];
  const secrets: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (name in secrets) throw new SecretInputError(`the secret ${name} is given twice`);
    secrets[name] = value;
  }
  return secrets;
}

/** `--secret NAME`, from the environment; `--secret NAME=VALUE` as it was, with a warning. */
function fromArgument(argument: string, sources: SecretSources): [string, string] {
  const equals = argument.indexOf("=");
  if (equals < 0) {
    if (!ENV_NAME.test(argument)) throw new SecretInputError("--secret: the argument is not an environment variable name; give --secret NAME, with the value in ghostctl's environment variable NAME");
    const value = sources.env[argument];
    if (value === undefined) throw new SecretInputError(`--secret ${argument}: the environment variable ${argument} is not set; set it, or use --secret-file ${argument}=PATH or --secrets-from-stdin`);
    return [argument, value];
  }
  const name = nameBefore(argument, equals, "--secret");
  sources.warn(
    `--secret ${name}=VALUE puts the value on the command line, where other local users can read it in the process list (ps, /proc/<pid>/cmdline); ` +
      `give --secret ${name} with the value in the environment, --secret-file ${name}=PATH or --secrets-from-stdin instead`,
  );
  return [name, argument.slice(equals + 1)];
}

/** `--secret-file NAME=PATH`: the file's content, less one trailing newline (as `echo` or an editor leaves). */
function fromFile(argument: string, sources: SecretSources): [string, string] {
  const equals = argument.indexOf("=");
  if (equals < 0) throw new SecretInputError("--secret-file takes NAME=PATH");
  const name = nameBefore(argument, equals, "--secret-file");
  const path = argument.slice(equals + 1);
  let content: string;
  try {
    content = sources.readFile(path);
  } catch (err) {
    throw new SecretInputError(`--secret-file ${name}: cannot read ${path}: ${whyUnreadable(err)}`);
  }
  return [name, content.replace(/\r?\n$/, "")];
}

function readStdin(sources: SecretSources): string {
  try {
    return sources.readStdin();
  } catch (err) {
    throw new SecretInputError(`--secrets-from-stdin: cannot read standard input: ${whyUnreadable(err)}`);
  }
}

/**
 * `--secrets-from-stdin`: one `NAME=VALUE` a line, optionally `export NAME=VALUE`. The value is
 * everything after the first `=`, as it is, less one pair of matching quotes around it (no escapes,
 * no variables); blank lines and lines starting with `#` are skipped.
 */
export function fromStdinText(text: string): [string, string][] {
  const entries: [string, string][] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.replace(/\r$/, "").replace(/^\s*(export\s+)?/, "");
    if (line === "" || line.startsWith("#")) continue;
    const at = `--secrets-from-stdin: line ${index + 1}`;
    const equals = line.indexOf("=");
    if (equals < 0) throw new SecretInputError(`${at} is not NAME=VALUE`);
    entries.push([nameBefore(line, equals, at), unquoted(line.slice(equals + 1), at)]);
  }
  return entries;
}

function nameBefore(text: string, equals: number, at: string): string {
  const name = text.slice(0, equals);
  if (!ENV_NAME.test(name)) throw new SecretInputError(`${at}: the name before = is not an environment variable name`);
  return name;
}

function unquoted(value: string, at: string): string {
  const quote = value[0];
  if (quote !== '"' && quote !== "'") return value;
  if (value.length < 2 || !value.endsWith(quote)) throw new SecretInputError(`${at}: the value's opening quote is not closed on the same line (for a value of several lines, use --secret-file)`);
  return value.slice(1, -1);
}

function whyUnreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return code ?? (err instanceof Error ? err.message : String(err));
}
