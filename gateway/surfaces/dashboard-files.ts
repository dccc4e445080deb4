import { extname, join } from "node:path";

/** One file the dashboard serves: where it lives on disk, and how it goes out. */
export interface StaticFile {
  readonly urlPath: string;
  readonly file: string;
  readonly contentType: string;
  /** The page itself: it carries the response's style nonce, so it is never cached. */
  readonly page: boolean;
}

/** Where the dashboard's files come from: hand-written ones, `npm run build`'s output, and xterm.js's. */
export interface DashboardRoots {
  /** `dashboard/` in the package: the page, its stylesheet and icon, served as written. */
  readonly source: string;
  /** `dist/dashboard/`: the browser modules tsc emits from `dashboard/*.ts`. */
  readonly built: string;
  /** Resolves a file of an installed package, as `require.resolve` does. */
  readonly resolve: (request: string) => string;
}

/** The browser modules `dashboard/tsconfig.json` emits; a unit test keeps this list and the build in step. */
export const DASHBOARD_MODULES = ["main", "api", "dom", "styles", "terminals", "projects", "logs", "snapshots", "vms"] as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
};

export function contentTypeOf(file: string): string {
  const type = CONTENT_TYPES[extname(file)];
  if (!type) throw new Error(`the dashboard serves no ${extname(file) || "extensionless"} files (${file})`);
  return type;
}

/**
 * Every URL the dashboard answers, and nothing else: a table rather than a directory served
 * whole, so no request can name a file outside it.
 */
export function dashboardFiles(roots: DashboardRoots): ReadonlyMap<string, StaticFile> {
  const entries: [string, string][] = [
    ["/", join(roots.source, "index.html")],
    ["/assets/app.css", join(roots.source, "app.css")],
    ["/assets/favicon.svg", join(roots.source, "favicon.svg")],
    ["/assets/vendor/xterm.mjs", roots.resolve("@xterm/xterm/lib/xterm.mjs")],
    ["/assets/vendor/xterm.mjs.map", roots.resolve("@xterm/xterm/lib/xterm.mjs.map")],
    ["/assets/vendor/xterm.css", roots.resolve("@xterm/xterm/css/xterm.css")],
    ["/assets/vendor/addon-fit.mjs", roots.resolve("@xterm/addon-fit/lib/addon-fit.mjs")],
    ["/assets/vendor/addon-fit.mjs.map", roots.resolve("@xterm/addon-fit/lib/addon-fit.mjs.map")],
    ...DASHBOARD_MODULES.map((name): [string, string] => [`/assets/${name}.js`, join(roots.built, `${name}.js`)]),
  ];
  return new Map(entries.map(([urlPath, file]) => [urlPath, { urlPath, file, contentType: contentTypeOf(file), page: urlPath === "/" }]));
}

/**
 * The page may load and connect to its own origin only. Scripts are files the daemon serves,
 * never inline. xterm.js's DOM renderer writes its colours and cell sizes into `<style>` elements
 * it creates, which `style-src 'self'` blocks (Chromium refuses them and the terminal loses its
 * colours); the page gives those elements this response's nonce instead of the policy allowing
 * `'unsafe-inline'`, so markup injected into the page still cannot style it.
 */
export function contentSecurityPolicy(styleNonce?: string): string {
  const styles = styleNonce === undefined ? "'self'" : `'self' 'nonce-${styleNonce}'`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    `style-src ${styles}`,
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers of every dashboard response, the page's with its style nonce. */
export function dashboardHeaders(styleNonce?: string): Record<string, string> {
  return {
    "Content-Security-Policy": contentSecurityPolicy(styleNonce),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
  };
}

/** Where the page names its nonce; the server fills it in for each response. */
export const NONCE_PLACEHOLDER = "{{style-nonce}}";
