import { terminalError } from "./reasons";

/** Modifiers as the API names them. */
export type Modifier = "shift" | "control" | "option" | "command";

export interface KeyEvent {
  readonly key: string;
  readonly mods: ReadonlySet<Modifier>;
  readonly action: "press" | "release" | "repeat";
}

/** What the program asked for, as far as keys are concerned. */
export interface KeyboardModes {
  /** DECCKM: arrows, Home and End send SS3 instead of CSI. */
  readonly applicationCursorKeys: boolean;
  /** kitty keyboard protocol flags the program pushed (0: legacy xterm encoding). */
  readonly kittyFlags: number;
}

/** The bytes a key event sends, or why it sends none. */
export type Encoded = { readonly bytes: string } | { readonly bytes: ""; readonly note: string };

const ESC = "\x1b";
const CSI = `${ESC}[`;
const SS3 = `${ESC}O`;

const MOD_ALIASES: Record<string, Modifier> = {
  shift: "shift",
  control: "control",
  ctrl: "control",
  option: "option",
  alt: "option",
  command: "command",
  cmd: "command",
  super: "command",
};

export function parseMods(names: readonly string[]): Set<Modifier> {
  const mods = new Set<Modifier>();
  for (const name of names) {
    const mod = MOD_ALIASES[name.toLowerCase()];
    if (!mod) throw terminalError("invalid_key", `unknown modifier "${name}"; use shift, control, option or command`);
    mods.add(mod);
  }
  return mods;
}

export function parseKeyAction(action: string | undefined): KeyEvent["action"] {
  if (action === undefined || action === "" || action === "press") return "press";
  if (action === "release" || action === "repeat") return action;
  throw terminalError("invalid_key", `unknown key action "${action}"; use press or release`);
}

/** xterm's modifier parameter: 1 + shift 1 + alt 2 + ctrl 4 (+ super 8 in the kitty protocol). */
function modParam(mods: ReadonlySet<Modifier>): number {
  return 1 + (mods.has("shift") ? 1 : 0) + (mods.has("option") ? 2 : 0) + (mods.has("control") ? 4 : 0) + (mods.has("command") ? 8 : 0);
}

/** Keys xterm sends as `CSI <letter>` / `SS3 <letter>` (cursor keys and friends). */
const LETTER_KEYS: Record<string, { final: string; cursor: boolean }> = {
  up: { final: "A", cursor: true },
  down: { final: "B", cursor: true },
  right: { final: "C", cursor: true },
  left: { final: "D", cursor: true },
  home: { final: "H", cursor: true },
  end: { final: "F", cursor: true },
  f1: { final: "P", cursor: false },
  f2: { final: "Q", cursor: false },
  f3: { final: "R", cursor: false },
  f4: { final: "S", cursor: false },
};

/** Keys xterm sends as `CSI <number> ~`. */
const TILDE_KEYS: Record<string, number> = {
  insert: 2,
  delete: 3,
  page_up: 5,
  page_down: 6,
  f5: 15,
  f6: 17,
  f7: 18,
  f8: 19,
  f9: 20,
  f10: 21,
  f11: 23,
  f12: 24,
};

/** Keys with a fixed C0 byte, and their kitty key codes. */
const C0_KEYS: Record<string, { byte: string; code: number }> = {
  enter: { byte: "\r", code: 13 },
  tab: { byte: "\t", code: 9 },
  backspace: { byte: "\x7f", code: 127 },
  escape: { byte: ESC, code: 27 },
};

const NAMED_CHARS: Record<string, string> = {
  space: " ",
  minus: "-",
  equal: "=",
  comma: ",",
  period: ".",
  slash: "/",
  semicolon: ";",
  apostrophe: "'",
  grave: "`",
  backslash: "\\",
  left_bracket: "[",
  right_bracket: "]",
};

const KEY_ALIASES: Record<string, string> = {
  return: "enter",
  esc: "escape",
  pageup: "page_up",
  pagedown: "page_down",
  arrow_up: "up",
  arrow_down: "down",
  arrow_left: "left",
  arrow_right: "right",
  del: "delete",
  ins: "insert",
};

/** Normalises a key name: `Enter`, `PageUp`, `a`, `/` ...; unknown names are `invalid_key`. */
export function normaliseKey(name: string): string {
  if (name.length === 1 && name >= " " && name <= "~") return name === " " ? "space" : name;
  const lower = name.toLowerCase();
  const key = KEY_ALIASES[lower] ?? lower;
  if (key in LETTER_KEYS || key in TILDE_KEYS || key in C0_KEYS || key in NAMED_CHARS) return key;
  throw terminalError("invalid_key", `unknown key "${name}"; see the Terminal API docs for key names`);
}

/** The character a printable key types, shift applied. */
function charOf(key: string, shift: boolean): string | undefined {
  const base = key.length === 1 ? key : NAMED_CHARS[key];
  if (base === undefined) return undefined;
  return shift ? (SHIFTED[base] ?? base.toUpperCase()) : base;
}

const SHIFTED: Record<string, string> = {
  "1": "!", "2": "@", "3": "#", "4": "$", "5": "%", "6": "^", "7": "&", "8": "*", "9": "(", "0": ")",
  "-": "_", "=": "+", "[": "{", "]": "}", "\\": "|", ";": ":", "'": '"', ",": "<", ".": ">", "/": "?", "`": "~",
};

/** Ctrl with a printable key, as xterm sends it: the C0 control byte. */
function controlByte(ch: string): string | undefined {
  const c = ch.toLowerCase();
  if (c >= "a" && c <= "z") return String.fromCharCode(c.charCodeAt(0) - 96);
  const table: Record<string, string> = { " ": "\x00", "2": "\x00", "@": "\x00", "[": ESC, "3": ESC, "\\": "\x1c", "4": "\x1c", "]": "\x1d", "5": "\x1d", "^": "\x1e", "6": "\x1e", "_": "\x1f", "7": "\x1f", "-": "\x1f", "/": "\x1f", "?": "\x7f", "8": "\x7f" };
  return table[c];
}

/**
 * Encodes a key event as the program inside expects it: xterm's encoding (SS3 cursor keys under
 * DECCKM, `CSI 1;m X` with modifiers, C0 bytes for Ctrl, ESC for Alt), or the kitty keyboard
 * protocol once the program pushed its flags. Releases, and the command key, only exist in the
 * kitty protocol; in legacy mode they send nothing and say why.
 */
export function encodeKey(event: KeyEvent, modes: KeyboardModes): Encoded {
  const key = normaliseKey(event.key);
  if (modes.kittyFlags > 0) return encodeKitty(key, event, modes.kittyFlags);
  if (event.action === "release") {
    return { bytes: "", note: "a key release reaches the program only when it enabled the kitty keyboard protocol" };
  }
  const { mods } = event;
  if (mods.has("command")) {
    return { bytes: "", note: "the command key reaches the program only when it enabled the kitty keyboard protocol" };
  }
  const m = modParam(mods);
  const alt = mods.has("option") ? ESC : "";

  const letter = LETTER_KEYS[key];
  if (letter) {
    if (m > 1) return { bytes: `${CSI}1;${m}${letter.final}` };
    const intro = !letter.cursor || modes.applicationCursorKeys ? SS3 : CSI;
    return { bytes: `${intro}${letter.final}` };
  }
  const tilde = TILDE_KEYS[key];
  if (tilde !== undefined) return { bytes: m > 1 ? `${CSI}${tilde};${m}~` : `${CSI}${tilde}~` };

  const c0 = C0_KEYS[key];
  if (c0) {
    if (key === "tab" && mods.has("shift")) return { bytes: `${alt}${CSI}Z` };
    if (key === "backspace" && mods.has("control")) return { bytes: `${alt}\x08` };
    return { bytes: `${alt}${c0.byte}` };
  }
  const ch = charOf(key, mods.has("shift"));
  if (ch === undefined) return { bytes: "" };
  if (mods.has("control")) {
    const byte = controlByte(charOf(key, false) ?? ch) ?? controlByte(ch);
    if (byte !== undefined) return { bytes: `${alt}${byte}` };
  }
  return { bytes: `${alt}${ch}` };
}

const KITTY_DISAMBIGUATE = 1;
const KITTY_EVENT_TYPES = 2;
const KITTY_ALL_AS_ESCAPES = 8;

function encodeKitty(key: string, event: KeyEvent, flags: number): Encoded {
  const eventType = event.action === "press" ? 1 : event.action === "repeat" ? 2 : 3;
  if (eventType !== 1 && !(flags & KITTY_EVENT_TYPES)) {
    return { bytes: "", note: `the program did not ask for key ${event.action} events (kitty flag 2)` };
  }
  const m = modParam(event.mods);
  const suffix = eventType !== 1 ? `:${eventType}` : "";
  const params = (code: string | number): string => (m > 1 || suffix ? `${code};${m}${suffix}` : `${code}`);

  const letter = LETTER_KEYS[key];
  if (letter) return { bytes: m > 1 || suffix ? `${CSI}1;${m}${suffix}${letter.final}` : `${CSI}${letter.final}` };
  const tilde = TILDE_KEYS[key];
  if (tilde !== undefined) return { bytes: `${CSI}${params(tilde)}~` };

  const c0 = C0_KEYS[key];
  const ch = charOf(key, false);
  const code = c0 ? c0.code : (ch ?? " ").codePointAt(0) ?? 32;
  const plain = m === 1 && eventType === 1;
  // Under "disambiguate" alone, keys that type text unmodified, and Enter, Tab and Backspace,
  // keep their legacy bytes; everything else is `CSI code;mods u`.
  if (plain && !(flags & KITTY_ALL_AS_ESCAPES) && flags & KITTY_DISAMBIGUATE && key !== "escape") {
    return { bytes: c0 ? c0.byte : (ch ?? "") };
  }
  if (!c0 && ch !== undefined && m === 2 && eventType === 1 && !(flags & KITTY_ALL_AS_ESCAPES)) {
    return { bytes: charOf(key, true) ?? ch };
  }
  return { bytes: `${CSI}${params(code)}u` };
}
