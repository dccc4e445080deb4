// The key that detaches `ghostctl attach`, as a user writes it (`ctrl-\`, `C-]`, `^A`) and as
// it arrives on stdin in raw mode: its control byte, or the kitty keyboard protocol's CSI u form,
// which a program inside may have turned on in the user's terminal (fish 4 does at its prompt).

export const DEFAULT_DETACH_KEY = "ctrl-\\";

export interface DetachKey {
  /** How help and messages name it: `Ctrl-\`. */
  readonly label: string;
  /** Any of these on stdin detaches. */
  readonly sequences: readonly Buffer[];
}

/** Control characters that are ordinary keys too (Tab, Enter, Escape, Backspace): detaching on one would take that key away. */
const ORDINARY_KEYS: Record<string, string> = { i: "Tab", j: "Enter", m: "Enter", "[": "Escape", h: "Backspace", "?": "Backspace" };

const SPELLINGS = /^(?:ctrl-|c-|\^)(.)$/i;

export class DetachKeyError extends Error {}

/**
 * `ctrl-X`, `C-X` or `^X`, X a letter or one of `@ [ \ ] ^ _` (case does not matter); `none`
 * for no detach key at all. Throws DetachKeyError saying what is accepted.
 */
export function parseDetachKey(text: string): DetachKey | undefined {
  if (text.trim().toLowerCase() === "none") return undefined;
  const key = SPELLINGS.exec(text.trim())?.[1]?.toLowerCase();
  if (key === undefined || !/^[a-z@\\\]^_[?]$/.test(key)) {
    throw new DetachKeyError(`detach key "${text}" is not ctrl-X (or C-X, ^X) with X a letter or one of @ \\ ] ^ _, or none`);
  }
  const ordinary = ORDINARY_KEYS[key];
  if (ordinary) throw new DetachKeyError(`detach key "${text}" is also the ${ordinary} key; choose another, such as ctrl-\\ or ctrl-]`);
  const code = key.toUpperCase().charCodeAt(0);
  return {
    label: `Ctrl-${key.toUpperCase()}`,
    sequences: [Buffer.from([code & 0x1f]), Buffer.from(`\x1b[${key.charCodeAt(0)};5u`), Buffer.from(`\x1b[${key.charCodeAt(0)};5:1u`)],
  };
}

/** Where the first detach sequence in `chunk` starts, or -1 when it has none. */
export function findDetach(chunk: Buffer, key: DetachKey | undefined): number {
  if (!key) return -1;
  const found = key.sequences.map((sequence) => chunk.indexOf(sequence)).filter((at) => at >= 0);
  return found.length === 0 ? -1 : Math.min(...found);
}
