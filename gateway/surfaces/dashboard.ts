import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Context, Middleware } from "koa";
import { packageRoot } from "../../cli/package-info";
import { GatewayError } from "../transcoder/errors";
import { dashboardFiles, dashboardHeaders, NONCE_PLACEHOLDER, type DashboardRoots, type StaticFile } from "./dashboard-files";
import type { SurfaceEndpoint } from "./surface";

/** Where an installed package keeps its files; where it is not installed, a path that cannot be read (a 503, not a daemon that will not start). */
function resolveInstalled(request: string): string {
  try {
    return require.resolve(request);
  } catch {
    return join(packageRoot, "node_modules", request);
  }
}

export const DEFAULT_ROOTS: DashboardRoots = {
  source: join(packageRoot, "dashboard"),
  built: join(packageRoot, "dist", "dashboard"),
  resolve: resolveInstalled,
};

interface Loaded {
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * The web dashboard at `/`: a page and the files it loads, all from this daemon, each answered
 * with a strict Content-Security-Policy. It is a client of the public API like any script, so it
 * needs no part of the upstream. Files are read once: they change only with a new build, which
 * a restart of the daemon goes with.
 */
export function dashboard(roots: DashboardRoots = DEFAULT_ROOTS): SurfaceEndpoint {
  const middleware = dashboardFilesMiddleware(roots);
  return () => middleware;
}

/** Answers GET and HEAD of the table's paths; passes every other request on. */
export function dashboardFilesMiddleware(roots: DashboardRoots): Middleware {
  const files = dashboardFiles(roots);
  const loaded = new Map<string, Promise<Loaded>>();
  const load = (file: StaticFile): Promise<Loaded> => {
    let entry = loaded.get(file.file);
    if (!entry) {
      entry = readStatic(file);
      // A failed read (not built yet) is tried again on the next request.
      void entry.catch(() => loaded.delete(file.file));
      loaded.set(file.file, entry);
    }
    return entry;
  };
  return async (ctx, next) => {
    const file = files.get(ctx.path);
    if (!file || (ctx.method !== "GET" && ctx.method !== "HEAD")) {
      await next();
      return;
    }
    const { body, etag } = await load(file);
    if (file.page) answerPage(ctx, file, body);
    else answerAsset(ctx, file, body, etag);
  };
}

async function readStatic(file: StaticFile): Promise<Loaded> {
  try {
    const body = await readFile(file.file);
    return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GatewayError(503, "dashboard_unavailable", `the dashboard cannot read ${file.urlPath} (${code ?? "error"}); build it with npm run build`);
  }
}

/** The page, with a fresh nonce for the style elements its scripts make. */
function answerPage(ctx: Context, file: StaticFile, template: Buffer): void {
  const nonce = randomBytes(18).toString("base64");
  ctx.set(dashboardHeaders(nonce));
  ctx.set("Cache-Control", "no-store");
  ctx.type = file.contentType;
  ctx.body = template.toString("utf8").replaceAll(NONCE_PLACEHOLDER, nonce);
}

/** Any other file: revalidated by its digest, so a browser takes a restarted daemon's new build at once, and an unchanged file costs a 304. */
function answerAsset(ctx: Context, file: StaticFile, body: Buffer, etag: string): void {
  ctx.set(dashboardHeaders());
  ctx.set("Cache-Control", "no-cache");
  ctx.status = 200;
  ctx.etag = etag;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.type = file.contentType;
  ctx.body = body;
}
