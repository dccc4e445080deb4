import { ConfigError } from "../config";
import { SETTINGS } from "./schema";
import type { Setting } from "./setting";

/**
 * The settings as the Markdown table README.md's Configuration section shows: all of them, or
 * those named by flag without the dashes (`window-size`), in the schema's order either way.
 */
export function settingsTableMarkdown(names: readonly string[] = []): string {
  const all: readonly Setting<unknown>[] = Object.values(SETTINGS);
  const unknown = names.filter((name) => !all.some((setting) => setting.name === `--${name}`));
  if (unknown.length > 0) throw new ConfigError(`no setting ${unknown.map((name) => `--${name}`).join(", ")}`);
  const shown = names.length === 0 ? all : all.filter((setting) => names.includes(setting.name.slice(2)));
  const lines = ["| flag | environment | default | what it sets |", "| --- | --- | --- | --- |"];
  for (const setting of shown) {
    const cells = [flagCell(setting), `\`${setting.env}\``, setting.readme.default, setting.readme.sets];
    lines.push(`| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

/** `--window-size COLSxROWS`: the placeholders in capitals, as the README has always written them. */
function flagCell(setting: Setting<unknown>): string {
  const flag = `\`${setting.flag.replace(/<([^>]+)>/g, (_, placeholder: string) => placeholder.toUpperCase())}\``;
  const [only] = setting.commands;
  return setting.commands.length === 1 && only !== undefined ? `${flag} (${only} only)` : flag;
}
