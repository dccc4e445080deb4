/**
 * Where terminals sit: windows hold tabs, a tab holds a tree of splits. Sizes are in pixels (the
 * API's points); each terminal's columns and rows follow from its rectangle and its cell size.
 */

export type Direction = "left" | "right" | "up" | "down";
export type Axis = "horizontal" | "vertical";

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

type Node = { kind: "leaf"; id: string } | { kind: "split"; axis: Axis; ratio: number; first: Node; second: Node };

interface Tab {
  readonly id: string;
  root: Node;
  zoomed: string | undefined;
  lastFocused: string;
}

export interface Window {
  readonly id: string;
  readonly kind: "normal" | "quick";
  readonly size: { readonly width: number; readonly height: number };
  tabs: Tab[];
  active: number;
}

export interface Place {
  readonly window: Window;
  readonly tabIndex: number;
  readonly tab: Tab;
}

export class LayoutError extends Error {}

let counter = 0;
const nextId = (prefix: string): string => `${prefix}-${(++counter).toString(36)}`;

export class Layout {
  private readonly windows: Window[] = [];

  /** A new window, with one tab holding the terminal. */
  addWindow(terminal: string, size: { width: number; height: number }, kind: Window["kind"] = "normal"): Window {
    const window: Window = { id: nextId("w"), kind, size, tabs: [this.newTab(terminal)], active: 0 };
    this.windows.push(window);
    return window;
  }

  /** A new tab at the end of the parent's window, made active. */
  addTab(parent: string, terminal: string): void {
    const { window } = this.place(parent);
    window.tabs.push(this.newTab(terminal));
    window.active = window.tabs.length - 1;
  }

  /** Splits the parent's space in half; the new terminal takes the side named. */
  split(parent: string, terminal: string, direction: Direction | "auto"): void {
    const { window, tab } = this.place(parent);
    const rect = this.rects(window, tab).get(parent);
    const side = direction !== "auto" ? direction : rect && rect.height > rect.width ? "down" : "right";
    const leaf: Node = { kind: "leaf", id: terminal };
    const axis: Axis = side === "left" || side === "right" ? "horizontal" : "vertical";
    tab.zoomed = undefined;
    tab.root = replace(tab.root, parent, (old) =>
      side === "right" || side === "down" ? { kind: "split", axis, ratio: 0.5, first: old, second: leaf } : { kind: "split", axis, ratio: 0.5, first: leaf, second: old },
    );
  }

  /** Removes a terminal; its sibling takes its space, an empty tab or window goes away. */
  remove(terminal: string): void {
    const { window, tab, tabIndex } = this.place(terminal);
    const root = without(tab.root, terminal);
    if (root) {
      tab.root = root;
      if (tab.zoomed === terminal) tab.zoomed = undefined;
      if (tab.lastFocused === terminal) tab.lastFocused = leaves(root)[0] ?? "";
      return;
    }
    window.tabs.splice(tabIndex, 1);
    if (window.tabs.length === 0) {
      this.windows.splice(this.windows.indexOf(window), 1);
      return;
    }
    if (window.active >= tabIndex && window.active > 0) window.active--;
  }

  has(terminal: string): boolean {
    return this.windows.some((w) => w.tabs.some((t) => leaves(t.root).includes(terminal)));
  }

  place(terminal: string): Place {
    for (const window of this.windows) {
      const tabIndex = window.tabs.findIndex((t) => leaves(t.root).includes(terminal));
      const tab = window.tabs[tabIndex];
      if (tab) return { window, tabIndex, tab };
    }
    throw new LayoutError(`terminal ${terminal} is in no window`);
  }

  /** Records focus: the terminal's tab becomes its window's active tab. */
  focus(terminal: string): void {
    const { window, tab, tabIndex } = this.place(terminal);
    window.active = tabIndex;
    tab.lastFocused = terminal;
  }

  /** Pixel rectangles of every terminal: a zoomed terminal fills its tab, the others keep theirs. */
  allRects(): Map<string, Rect> {
    const out = new Map<string, Rect>();
    for (const window of this.windows) for (const tab of window.tabs) for (const [id, rect] of this.rects(window, tab)) out.set(id, rect);
    return out;
  }

  terminalsOfTab(terminal: string): string[] {
    return leaves(this.place(terminal).tab.root);
  }

  terminalsOfWindow(terminal: string): string[] {
    return this.place(terminal).window.tabs.flatMap((t) => leaves(t.root));
  }

  /** The terminal a goto_split moves focus to, or undefined when there is none that way. */
  neighbour(terminal: string, where: Direction | "next" | "previous"): string | undefined {
    const { window, tab } = this.place(terminal);
    const order = leaves(tab.root);
    if (where === "next" || where === "previous") {
      if (order.length < 2) return undefined;
      const i = order.indexOf(terminal);
      return order[(i + (where === "next" ? 1 : order.length - 1)) % order.length];
    }
    const rects = this.rects(window, { ...tab, zoomed: undefined });
    const from = rects.get(terminal);
    if (!from) return undefined;
    let best: { id: string; distance: number } | undefined;
    for (const [id, rect] of rects) {
      if (id === terminal) continue;
      const distance = gap(from, rect, where);
      if (distance !== undefined && (!best || distance < best.distance)) best = { id, distance };
    }
    return best?.id;
  }

  /** The terminal focused in the window's tab number `n` (1-based), or undefined. */
  tabTerminal(terminal: string, n: number): string | undefined {
    const tab = this.place(terminal).window.tabs[n - 1];
    return tab?.lastFocused;
  }

  tabCount(terminal: string): number {
    return this.place(terminal).window.tabs.length;
  }

  toggleZoom(terminal: string): boolean {
    const { tab } = this.place(terminal);
    if (leaves(tab.root).length < 2) return false;
    tab.zoomed = tab.zoomed === terminal ? undefined : terminal;
    return true;
  }

  /** Gives every terminal of the tab an equal share along each direction. */
  equalize(terminal: string): void {
    const { tab } = this.place(terminal);
    equalize(tab.root);
  }

  /**
   * Moves the divider of the nearest split around the terminal in that direction by `pixels`.
   * False when no split divides the terminal along that axis.
   */
  resize(terminal: string, direction: Direction, pixels: number, minimum: { width: number; height: number }): boolean {
    const { window, tab } = this.place(terminal);
    const axis: Axis = direction === "left" || direction === "right" ? "horizontal" : "vertical";
    const found = ancestor(tab.root, terminal, axis, { x: 0, y: 0, ...window.size });
    if (!found) return false;
    const total = axis === "horizontal" ? found.rect.width : found.rect.height;
    const least = axis === "horizontal" ? minimum.width : minimum.height;
    const sign = direction === "right" || direction === "down" ? 1 : -1;
    const firstSize = Math.min(Math.max(Math.round(found.node.ratio * total) + sign * pixels, least), total - least);
    found.node.ratio = firstSize / total;
    return true;
  }

  private newTab(terminal: string): Tab {
    return { id: nextId("t"), root: { kind: "leaf", id: terminal }, zoomed: undefined, lastFocused: terminal };
  }

  private rects(window: Window, tab: Tab): Map<string, Rect> {
    const out = new Map<string, Rect>();
    const full: Rect = { x: 0, y: 0, ...window.size };
    layoutNode(tab.root, full, out);
    if (tab.zoomed) out.set(tab.zoomed, full);
    return out;
  }
}

function leaves(node: Node): string[] {
  return node.kind === "leaf" ? [node.id] : [...leaves(node.first), ...leaves(node.second)];
}

function replace(node: Node, id: string, make: (old: Node) => Node): Node {
  if (node.kind === "leaf") return node.id === id ? make(node) : node;
  return { ...node, first: replace(node.first, id, make), second: replace(node.second, id, make) };
}

function without(node: Node, id: string): Node | undefined {
  if (node.kind === "leaf") return node.id === id ? undefined : node;
  const first = without(node.first, id);
  const second = without(node.second, id);
  if (!first) return second;
  if (!second) return first;
  return { ...node, first, second };
}

function layoutNode(node: Node, rect: Rect, out: Map<string, Rect>): void {
  if (node.kind === "leaf") {
    out.set(node.id, rect);
    return;
  }
  if (node.axis === "horizontal") {
    const w = Math.round(rect.width * node.ratio);
    layoutNode(node.first, { ...rect, width: w }, out);
    layoutNode(node.second, { ...rect, x: rect.x + w, width: rect.width - w }, out);
  } else {
    const h = Math.round(rect.height * node.ratio);
    layoutNode(node.first, { ...rect, height: h }, out);
    layoutNode(node.second, { ...rect, y: rect.y + h, height: rect.height - h }, out);
  }
}

function weight(node: Node, axis: Axis): number {
  return node.kind === "split" && node.axis === axis ? weight(node.first, axis) + weight(node.second, axis) : 1;
}

function equalize(node: Node): void {
  if (node.kind === "leaf") return;
  const first = weight(node.first, node.axis);
  node.ratio = first / (first + weight(node.second, node.axis));
  equalize(node.first);
  equalize(node.second);
}

function ancestor(node: Node, id: string, axis: Axis, rect: Rect): { node: Extract<Node, { kind: "split" }>; rect: Rect } | undefined {
  if (node.kind === "leaf") return undefined;
  const firstRect =
    node.axis === "horizontal" ? { ...rect, width: Math.round(rect.width * node.ratio) } : { ...rect, height: Math.round(rect.height * node.ratio) };
  const secondRect =
    node.axis === "horizontal"
      ? { ...rect, x: rect.x + firstRect.width, width: rect.width - firstRect.width }
      : { ...rect, y: rect.y + firstRect.height, height: rect.height - firstRect.height };
  const inFirst = leaves(node.first).includes(id);
  if (!inFirst && !leaves(node.second).includes(id)) return undefined;
  const deeper = inFirst ? ancestor(node.first, id, axis, firstRect) : ancestor(node.second, id, axis, secondRect);
  if (deeper) return deeper;
  return node.axis === axis ? { node, rect } : undefined;
}

/** How far `to` lies from `from` in a direction, when it lies that way and overlaps across. */
function gap(from: Rect, to: Rect, direction: Direction): number | undefined {
  const overlapsX = to.x < from.x + from.width && from.x < to.x + to.width;
  const overlapsY = to.y < from.y + from.height && from.y < to.y + to.height;
  switch (direction) {
    case "right":
      return overlapsY && to.x >= from.x + from.width ? to.x - (from.x + from.width) : undefined;
    case "left":
      return overlapsY && to.x + to.width <= from.x ? from.x - (to.x + to.width) : undefined;
    case "down":
      return overlapsX && to.y >= from.y + from.height ? to.y - (from.y + from.height) : undefined;
    case "up":
      return overlapsX && to.y + to.height <= from.y ? from.y - (to.y + to.height) : undefined;
  }
}
