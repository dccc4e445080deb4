// xterm.js's DOM renderer puts its colours and cell sizes in <style> elements it creates, which
// a policy of `style-src 'self'` blocks: Chromium refuses them and terminals lose their colours.
// The page's policy also allows elements carrying the nonce the daemon gave this response, and
// every <style> made through document.createElement gets it here. Only the page's own scripts
// (xterm.js) make elements; a <style> injected as markup has no nonce and stays blocked, which
// `'unsafe-inline'` would not do.

type CreateElement = (tag: string, options?: ElementCreationOptions) => HTMLElement;

export function nonceStyleElements(): void {
  const link = document.getElementById("app-style");
  const nonce = link instanceof HTMLLinkElement ? link.nonce : "";
  if (!nonce) return;
  // Through Reflect: the typings mark one overload of createElement deprecated, and this wraps them all.
  const original: unknown = Reflect.get(document, "createElement");
  const create = (original as CreateElement).bind(document);
  const withNonce: CreateElement = (tag, options) => {
    const element = create(tag, options);
    if (element instanceof HTMLStyleElement) element.nonce = nonce;
    return element;
  };
  Reflect.set(document, "createElement", withNonce);
}
