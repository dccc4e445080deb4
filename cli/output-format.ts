// How a command shows what it lists: a table for a person at a terminal, JSON for a program
// (asked for with --json, or because stdout is a pipe or a file), and colour only where a person
// sees it and has not turned it off. One place decides, so every command decides alike.

export type OutputFormat = "table" | "json";

export interface OutputChoice {
  readonly format: OutputFormat;
  readonly colour: boolean;
}

/** What the choice depends on: the command's --json flag, whether stdout is a terminal, the environment. */
export interface OutputContext {
  readonly json?: boolean;
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * A table only on a terminal and without --json: a pipe's reader is a program, and JSON is what
 * it parses. Colour only in a table, and never with NO_COLOR set to anything but empty
 * (https://no-color.org says an empty value counts as unset).
 */
export function chooseOutput(context: OutputContext): OutputChoice {
  const format: OutputFormat = context.json === true || !context.isTTY ? "json" : "table";
  const noColor = context.env.NO_COLOR !== undefined && context.env.NO_COLOR !== "";
  return { format, colour: format === "table" && !noColor };
}

/** The choice for this process's stdout. */
export function outputForStdout(json: boolean | undefined): OutputChoice {
  return chooseOutput({ json, isTTY: process.stdout.isTTY, env: process.env });
}

const SGR = { bold: "1", dim: "2", green: "32" } as const;

export type Style = keyof typeof SGR;

/** `text` in a style when colour is on; as it is otherwise. */
export function paint(text: string, style: Style, colour: boolean): string {
  return colour ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text;
}

export interface Column<Row> {
  readonly title: string;
  readonly value: (row: Row) => string;
  readonly style?: (row: Row) => Style | undefined;
}

/**
 * Rows under bold titles, each column as wide as its widest cell, two spaces apart; the last
 * column is not padded, so no line ends in blanks. Widths count characters, and escapes are added
 * after padding, so colour never shifts a column.
 */
export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[], colour: boolean): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) => Math.max(column.title.length, ...cells.map((line) => (line[i] ?? "").length)));
  const pad = (text: string, i: number): string => (i === columns.length - 1 ? text : text.padEnd(widths[i] ?? 0));
  const header = columns.map((column, i) => paint(pad(column.title, i), "bold", colour)).join("  ");
  const body = rows.map((row, r) =>
    columns
      .map((column, i) => {
        const style = column.style?.(row);
        const text = pad(cells[r]?.[i] ?? "", i);
        return style ? paint(text, style, colour) : text;
      })
      .join("  "),
  );
  return `${[header, ...body].join("\n")}\n`;
}
