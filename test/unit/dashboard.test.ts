import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import Koa from "koa";
import { contentSecurityPolicy, contentTypeOf, DASHBOARD_MODULES, dashboardFiles, NONCE_PLACEHOLDER, type DashboardRoots } from "../../gateway/surfaces/dashboard-files";
import { dashboardFilesMiddleware, DEFAULT_ROOTS } from "../../gateway/surfaces/dashboard";
import { call } from "../helpers/http";
import { closeServer, portOf } from "../helpers/ports";
import { tempDir } from "../helpers/tmp";

describe("dashboard files", () => {
  it("serves every file of its table from the package, and the build emits exactly the modules it lists", () => {
    const files = [...dashboardFiles(DEFAULT_ROOTS).values()];
    const missing = files.filter((f) => !existsSync(f.file)).map((f) => `${f.urlPath} (${f.file})`);
    assert.deepEqual(missing, [], "npm run build makes dist/dashboard; the rest is in the package");
    const emitted = readdirSync(DEFAULT_ROOTS.built).filter((name) => name.endsWith(".js")).map((name) => name.slice(0, -3));
    assert.deepEqual(emitted.sort(), [...DASHBOARD_MODULES].sort());
  });

  it("has a page with no inline script, loading only its own origin's files", () => {
    const page = readFileSync(join(DEFAULT_ROOTS.source, "index.html"), "utf8");
    const scripts = [...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.ok(scripts.length > 0);
    for (const tag of scripts) assert.match(tag, /\bsrc="\/assets\/[a-z-]+\.js"/, tag);
    assert.doesNotMatch(page, /<script\b[^>]*>[^<\s]/, "no inline script body");
    assert.doesNotMatch(page, /\b(src|href)="(https?:)?\/\//, "nothing from another origin");
    assert.doesNotMatch(page, /\sstyle=|\son[a-z]+=/, "no inline style or handler attributes, which the policy would block");
    assert.ok(page.includes(NONCE_PLACEHOLDER));
  });

  it("knows the content type of each kind of file it serves and refuses others", () => {
    assert.equal(contentTypeOf("a/index.html"), "text/html; charset=utf-8");
    assert.equal(contentTypeOf("x.mjs"), "text/javascript; charset=utf-8");
    assert.equal(contentTypeOf("x.css"), "text/css; charset=utf-8");
    assert.throws(() => contentTypeOf("secret.db"), /serves no \.db files/);
  });

  it("allows its own origin only, never inline scripts, and inline styles only by nonce", () => {
    const strict = contentSecurityPolicy();
    assert.equal(
      strict,
      "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    const page = contentSecurityPolicy("abc");
    assert.equal(page, strict.replace("style-src 'self'", "style-src 'self' 'nonce-abc'"));
    assert.doesNotMatch(page, /unsafe/);
  });
});

describe("dashboard middleware", () => {
  let server: Server;
  let base: string;
  let dir: ReturnType<typeof tempDir>;

  before(async () => {
    dir = tempDir();
    writeFileSync(join(dir.path, "index.html"), `<link nonce="${NONCE_PLACEHOLDER}"><script type="module" src="/assets/main.js"></script>`);
    writeFileSync(join(dir.path, "app.css"), "body { color: red }");
    writeFileSync(join(dir.path, "main.js"), "export {};");
    // Everything resolves into the temp dir; files it lacks (the vendor files) are unreadable.
    const roots: DashboardRoots = { source: dir.path, built: dir.path, resolve: (request) => join(dir.path, "missing", request) };
    const app = new Koa();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        ctx.status = (err as { status?: number }).status ?? 500;
        ctx.body = { error: (err as { reason?: string }).reason };
      }
    });
    app.use(dashboardFilesMiddleware(roots));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = { error: "passed on" };
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
    });
    base = `http://127.0.0.1:${portOf(server)}`;
  });

  after(async () => {
    await closeServer(server);
    dir.remove();
  });

  it("answers the page with its security headers and a fresh nonce that the policy names", async () => {
    const [one, two] = [await call({ base, path: "/" }), await call({ base, path: "/" })];
    for (const reply of [one, two]) {
      assert.equal(reply.status, 200);
      assert.equal(reply.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(reply.headers["x-content-type-options"], "nosniff");
      assert.equal(reply.headers["referrer-policy"], "no-referrer");
      assert.equal(reply.headers["x-frame-options"], "DENY");
      assert.equal(reply.headers["cache-control"], "no-store");
      const nonce = /nonce="([^"]+)"/.exec(reply.text)?.[1];
      assert.ok(nonce && nonce.length >= 16, reply.text);
      assert.equal(reply.headers["content-security-policy"], contentSecurityPolicy(nonce));
    }
    assert.notEqual(/nonce="([^"]+)"/.exec(one.text)?.[1], /nonce="([^"]+)"/.exec(two.text)?.[1]);
  });

  it("answers an asset with the strict policy, its type and an ETag, and a 304 when the browser has it", async () => {
    const reply = await call({ base, path: "/assets/main.js" });
    assert.equal(reply.status, 200);
    assert.equal(reply.text, "export {};");
    assert.equal(reply.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(reply.headers["content-security-policy"], contentSecurityPolicy());
    assert.equal(reply.headers["x-content-type-options"], "nosniff");
    const etag = reply.headers.etag;
    assert.ok(etag);
    const again = await call({ base, path: "/assets/main.js", headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers["content-security-policy"], contentSecurityPolicy());
    const head = await call({ base, method: "HEAD", path: "/assets/app.css" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-type"], "text/css; charset=utf-8");
  });

  it("passes on other methods and paths outside its table, a file beside a listed one included", async () => {
    for (const [method, path] of [["POST", "/"], ["DELETE", "/assets/main.js"], ["GET", "/assets/"], ["GET", "/assets/../index.html"], ["GET", "/index.html"], ["GET", "/api/v2"]] as const) {
      const reply = await call({ base, method, path });
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.deepEqual(reply.json(), { error: "passed on" }, `${method} ${path}`);
    }
  });

  it("says the dashboard is unavailable, in JSON, when a file it lists cannot be read", async () => {
    const reply = await call({ base, path: "/assets/vendor/xterm.mjs" });
    assert.equal(reply.status, 503);
    assert.deepEqual(reply.json(), { error: "dashboard_unavailable" });
  });
});
