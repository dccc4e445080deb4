// Small helpers to build the page from data: text always goes in as text, never as markup.

type Child = Node | string;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) if (value !== undefined) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

export function button(label: string, action: () => Promise<void>, props: Partial<Record<string, string>> = {}): HTMLButtonElement {
  const b = el("button", { type: "button", ...props }, label);
  b.addEventListener("click", () => {
    b.disabled = true;
    action()
      .catch(report)
      .finally(() => (b.disabled = false));
  });
  return b;
}

export function byId<T extends HTMLElement>(id: string, type: new () => T): T;
export function byId(id: string): HTMLElement;
export function byId(id: string, type: new () => HTMLElement = HTMLElement): HTMLElement {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return found;
}

/** Tells the user what failed, in the header, until the next notice. */
export function report(err: unknown): void {
  const notice = byId("notice");
  notice.textContent = err instanceof Error ? err.message : String(err);
  notice.className = "error";
}

export function notify(text: string): void {
  const notice = byId("notice");
  notice.textContent = text;
  notice.className = "";
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit] ?? "B"}`;
}
