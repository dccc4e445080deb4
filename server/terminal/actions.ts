import type { Command } from "../../generated/ghostd/terminal/v1/terminal";
import type { Direction } from "./layout";
import { terminalError } from "./reasons";

/** A keybind action, parsed from Ghostty's `name` or `name:parameter` form. */
export type Action =
  | { readonly name: "new_window" | "new_tab" }
  | { readonly name: "new_split"; readonly direction: Direction | "auto" }
  | { readonly name: "goto_split"; readonly where: Direction | "next" | "previous" }
  | { readonly name: "goto_tab"; readonly tab: number }
  | { readonly name: "next_tab" | "previous_tab" | "last_tab" }
  | { readonly name: "close_surface" | "close_tab" | "close_window" }
  | { readonly name: "toggle_split_zoom" | "equalize_splits" }
  | { readonly name: "resize_split"; readonly direction: Direction; readonly amount: number }
  | { readonly name: "scroll_page_up" | "scroll_page_down" | "scroll_to_top" | "scroll_to_bottom" }
  | { readonly name: "scroll_page_lines"; readonly lines: number }
  | { readonly name: "clear_screen" | "reset" | "select_all" | "copy_to_clipboard" | "paste_from_clipboard" }
  | { readonly name: "text" | "csi" | "esc" | "set_surface_title"; readonly value: string }
  | { readonly name: "increase_font_size" | "decrease_font_size"; readonly points: number }
  | { readonly name: "reset_font_size" }
  | { readonly name: "toggle_fullscreen" | "toggle_command_palette" | "toggle_quick_terminal" };

const DIRECTIONS = ["left", "right", "up", "down"] as const;
const SIMPLE = new Set([
  "new_window", "new_tab", "next_tab", "previous_tab", "last_tab", "close_surface", "close_tab", "close_window", "toggle_split_zoom",
  "equalize_splits", "scroll_page_up", "scroll_page_down", "scroll_to_top", "scroll_to_bottom", "clear_screen", "reset", "select_all",
  "copy_to_clipboard", "paste_from_clipboard", "reset_font_size", "toggle_fullscreen", "toggle_command_palette", "toggle_quick_terminal",
]);

const invalid = (text: string, why: string) => terminalError("invalid_action", `"${text}" is not an action: ${why}`);

export function parseAction(text: string): Action {
  const colon = text.indexOf(":");
  const name = colon < 0 ? text : text.slice(0, colon);
  const param = colon < 0 ? undefined : text.slice(colon + 1);
  if (SIMPLE.has(name)) {
    if (param !== undefined) throw invalid(text, `${name} takes no parameter`);
    return { name } as Action;
  }
  const need = (): string => {
    if (param === undefined || param === "") throw invalid(text, `${name} needs a parameter`);
    return param;
  };
  switch (name) {
    case "new_split": {
      const p = need();
      if (p === "auto" || (DIRECTIONS as readonly string[]).includes(p)) return { name, direction: p as Direction | "auto" };
      throw invalid(text, "the direction is right, down, left, up or auto");
    }
    case "goto_split": {
      const p = need();
      if (p === "next" || p === "previous" || (DIRECTIONS as readonly string[]).includes(p)) return { name, where: p as Direction };
      throw invalid(text, "the split is previous, next, up, left, down or right");
    }
    case "goto_tab":
      return { name, tab: integer(text, need(), 1) };
    case "resize_split": {
      const [direction = "", amount = ""] = need().split(",");
      if (!(DIRECTIONS as readonly string[]).includes(direction)) throw invalid(text, "resize_split takes up, down, left or right and an amount, as up,10");
      return { name, direction: direction as Direction, amount: integer(text, amount, 1) };
    }
    case "scroll_page_lines":
      return { name, lines: integer(text, need(), undefined) };
    case "increase_font_size":
    case "decrease_font_size":
      return { name, points: param === undefined || param === "" ? 1 : number(text, param) };
    case "text":
      return { name, value: unescapeZig(need(), text) };
    case "csi":
    case "esc":
    case "set_surface_title":
      return { name, value: need() };
    default:
      throw invalid(text, "unknown action; GET /api/v2/commands lists them");
  }
}

function integer(text: string, value: string, min: number | undefined): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || (min !== undefined && n < min)) throw invalid(text, `"${value}" is not ${min === undefined ? "an integer" : `an integer of at least ${min}`}`);
  return n;
}

function number(text: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw invalid(text, `"${value}" is not a positive number`);
  return n;
}

/** Zig string escapes, as Ghostty's `text:` action reads them: \n \r \t \\ \' \" \xNN \u{N}. */
export function unescapeZig(value: string, whole = value): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value.charAt(i);
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const next = value[++i];
    switch (next) {
      case "n":
        out += "\n";
        break;
      case "r":
        out += "\r";
        break;
      case "t":
        out += "\t";
        break;
      case "\\":
      case "'":
      case '"':
        out += next;
        break;
      case "x": {
        const hex = value.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw invalid(whole, "\\x needs two hex digits");
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
        break;
      }
      case "u": {
        const match = /^\{([0-9a-fA-F]{1,6})\}/.exec(value.slice(i + 1));
        if (!match?.[1]) throw invalid(whole, "\\u needs {hex}");
        out += String.fromCodePoint(parseInt(match[1], 16));
        i += match[0].length;
        break;
      }
      default:
        throw invalid(whole, `unknown escape \\${next ?? ""}`);
    }
  }
  return out;
}

const command = (action: string, title: string, description: string): Command => ({
  actionKey: action.split(":")[0] ?? action,
  action,
  title,
  description,
});

const directionTitle = (d: string): string => d.charAt(0).toUpperCase() + d.slice(1);

/**
 * The command palette: every action, with the usual parameters, that does something for a
 * headless terminal. `PerformAction` accepts each of them as written.
 */
export function commandCatalogue(tabs: number): Command[] {
  return [
    command("new_window", "New Window", "Open a new terminal window"),
    command("new_tab", "New Tab", "Open a new tab"),
    ...(["right", "down", "left", "up", "auto"] as const).map((d) => command(`new_split:${d}`, `Split ${directionTitle(d)}`, `Split the terminal ${d === "auto" ? "along its longer side" : `to the ${d}`}`)),
    ...(["previous", "next", "up", "down", "left", "right"] as const).map((d) => command(`goto_split:${d}`, `Focus Split: ${directionTitle(d)}`, `Focus the ${d} split`)),
    ...Array.from({ length: tabs }, (_, i) => command(`goto_tab:${i + 1}`, `Go to Tab ${i + 1}`, `Focus tab ${i + 1} of the window`)),
    command("next_tab", "Next Tab", "Focus the next tab"),
    command("previous_tab", "Previous Tab", "Focus the previous tab"),
    command("last_tab", "Last Tab", "Focus the last tab"),
    command("close_surface", "Close Terminal", "Close the terminal"),
    command("close_tab", "Close Tab", "Close the tab and every terminal in it"),
    command("close_window", "Close Window", "Close the window and every terminal in it"),
    command("toggle_split_zoom", "Toggle Split Zoom", "Let the split fill its tab, or give the space back"),
    command("equalize_splits", "Equalize Splits", "Give every split of the tab the same size"),
    ...(["up", "down", "left", "right"] as const).map((d) => command(`resize_split:${d},10`, `Resize Split ${directionTitle(d)}`, `Move the split's divider ${d} by 10 points`)),
    command("scroll_page_up", "Scroll Page Up", "Scroll the viewport up one page"),
    command("scroll_page_down", "Scroll Page Down", "Scroll the viewport down one page"),
    command("scroll_to_top", "Scroll to Top", "Scroll to the start of the scrollback"),
    command("scroll_to_bottom", "Scroll to Bottom", "Scroll to the newest output"),
    command("scroll_page_lines:-1", "Scroll Up One Line", "Scroll the viewport by a number of lines (negative is up)"),
    command("clear_screen", "Clear Screen", "Clear the screen and the scrollback, keeping the cursor's line"),
    command("reset", "Reset Terminal", "Reset the terminal to its initial state"),
    command("select_all", "Select All", "Select the whole scrollback and screen"),
    command("copy_to_clipboard", "Copy", "Copy the selection to the clipboard"),
    command("paste_from_clipboard", "Paste", "Paste the clipboard into the terminal"),
    command("increase_font_size:1", "Increase Font Size", "Make the font larger by a point"),
    command("decrease_font_size:1", "Decrease Font Size", "Make the font smaller by a point"),
    command("reset_font_size", "Reset Font Size", "Return to the configured font size"),
    command("toggle_quick_terminal", "Toggle Quick Terminal", "Open the quick terminal, or close it"),
  ];
}
