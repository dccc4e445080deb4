import { Option, type Command } from "commander";
import { SETTINGS } from "./schema";
import type { Mode, Setting } from "./setting";

export function optionOf(setting: Setting<unknown>): Option {
  const option = new Option(setting.flag, setting.help).env(setting.env);
  if (setting.choices) option.choices(setting.choices);
  if (setting.default !== undefined) option.default(setting.default);
  return option;
}

/** Gives `command` the flags of every setting that belongs to `mode`, in the schema's order. */
export function addSettings(command: Command, mode: Mode): Command {
  for (const setting of Object.values(SETTINGS)) if (setting.commands.includes(mode)) command.addOption(optionOf(setting));
  return command;
}
