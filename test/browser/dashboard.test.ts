import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { call, JSON_TYPE } from "../helpers/http";
import { closeServer, portOf } from "../helpers/ports";
import { tempDir } from "../helpers/tmp";
import { program, requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";
import { RefusedUpgrade, WsSession } from "../helpers/websocket";

const TODO = join(packageRoot, "examples", "todo");
const CHROMIUM = "/usr/bin/chromium";

interface TerminalJson {
  id: string;
  columns: number;
  rows: number;
}

/** What the page saw go wrong: console errors, uncaught errors and CSP violations, as the test reads them. */
interface Trouble {
  readonly console: string[];
  readonly violations: string[];
}

/** Records every CSP violation in the page, before any of its scripts runs. */
const RECORD_VIOLATIONS = `
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || "")));
`;

describe("dashboard in Chromium", function () {
  this.timeout(180_000);
  let daemon: DaemonProcess | undefined;
  let base: string;
  let work: ReturnType<typeof tempDir> | undefined;
  let browser: Browser;
  let page: Page;
  const trouble: Trouble = { console: [], violations: [] };
  const urls: string[] = [];

  before(async function () {
    requireTools(this, [program("chromium", "chromium"), program("bwrap", "bubblewrap"), program("python3", "python3")]);
    work = tempDir("ghostd-dash-");
    const started = await spawnDaemon({ args: ["--port-range", "46400-46499", "--log-level", "warn", "--runtime", "process"] });
    daemon = started;
    base = started.endpoints.http ?? "";
    // The project exists before the page opens, as one registered with ghostctl would.
    const body = JSON.stringify({ app_id: "dev.ghostd.todo", package_path: TODO, state_path: join(work.path, "todo-state") });
    const ensured = await call({ base, headers: JSON_TYPE, method: "PUT", path: "/v1/projects/todo", body });
    assert.equal(ensured.status, 200, ensured.text);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript(RECORD_VIOLATIONS);
    page.on("console", (message) => {
      if (message.type() === "error") trouble.console.push(message.text());
    });
    page.on("pageerror", (err) => trouble.console.push(`uncaught: ${err.message}`));
    page.on("request", (request) => urls.push(request.url()));
    page.on("websocket", (ws) => urls.push(ws.url()));
    await page.goto(`${base}/`);
  });

  // Whatever before got to is undone; a skipped run got to nothing.
  after(async () => {
    await (browser as Browser | undefined)?.close();
    if (daemon) {
      await call({ base, headers: JSON_TYPE, method: "POST", path: "/v1/projects/todo:stop", body: "{}" }).catch(() => undefined);
      await daemon.stop();
      daemon.cleanup();
    }
    work?.remove();
  });

  const apiTerminals = async (): Promise<TerminalJson[]> => (await call({ base, path: "/api/v2/terminals" })).json<{ terminals: TerminalJson[] }>().terminals;
  const projectStatus = async (): Promise<string> => String((await call({ base, path: "/v1/projects/todo" })).json().status);

  /** The rows a tile's xterm.js shows, as its DOM renderer drew them. */
  const tileRows = (id: string): Promise<string[]> =>
    page.evaluate((tileId) => Array.from(document.querySelectorAll(`[data-terminal-id="${tileId}"] .xterm-rows > div`), (row) => row.textContent), id);

  it("opens a terminal, types into it and shows the answer, sizes it to its tile and closes it", async () => {
    await page.click("#new-terminal");
    const [terminal] = await waitFor("the new terminal in the API", async () => {
      const list = await apiTerminals();
      return list.length === 1 && list;
    });
    assert.ok(terminal);
    const tile = `[data-terminal-id="${terminal.id}"]`;
    await page.waitForSelector(`${tile} .xterm-rows`);
    await page.waitForSelector(`${tile} .state:text("attached")`);
    await page.click(`${tile} .xterm`);
    await page.keyboard.type("echo $((6*7))");
    await page.keyboard.press("Enter");
    await waitFor("42 on its own row of the tile", async () => (await tileRows(terminal.id)).some((row) => row.trim() === "42"), 15_000);

    // The PTY takes the size the tile fits; a smaller window makes a smaller tile and PTY.
    const fitted = async (): Promise<number | false> => {
      const [rows, api] = [(await tileRows(terminal.id)).length, (await apiTerminals()).find((t) => t.id === terminal.id)];
      return rows > 0 && api?.rows === rows && rows;
    };
    const before = await waitFor("the PTY to take the tile's size", fitted);
    await page.setViewportSize({ width: 1280, height: 560 });
    const after = await waitFor("the PTY to follow the smaller tile", async () => {
      const rows = await fitted();
      return rows !== false && rows < before && rows;
    });
    assert.ok(after < before, `${after} < ${before}`);
    await page.setViewportSize({ width: 1280, height: 800 });

    await page.click(`${tile} button.close`);
    await waitFor("the terminal to close", async () => (await apiTerminals()).length === 0);
    await page.waitForSelector(tile, { state: "detached" });
  });

  it("starts the todo project, follows a log line live, and stops it", async () => {
    await page.goto(`${base}/#projects`);
    const card = '[data-project-id="todo"]';
    await page.waitForSelector(card);
    await page.click(`${card} [data-action="start"]`);
    await waitFor("todo to run", async () => (await projectStatus()) === "running", 60_000);
    await page.waitForSelector(`${card} .status[data-status="running"]`);

    const ports = (await call({ base, path: "/v1/projects/todo/ports" })).json<{ ports: { service_name: string; host_port: number }[] }>().ports;
    const web = ports.find((p) => p.service_name === "web");
    assert.ok(web);
    await page.waitForSelector(`${card} a.port[href="http://127.0.0.1:${web.host_port}/"]`);

    // Only the api service's lines: the filter reconnects the follower.
    await page.waitForSelector('#logs-state:text("following")');
    await page.selectOption("#logs-service", "api");
    await page.waitForSelector('#logs-state:text("following")');
    const probe = `probe-${randomUUID()}`;
    await waitFor("the web front end to answer", () => call({ base: `http://127.0.0.1:${web.host_port}`, path: `/api/items?${probe}` }).catch(() => undefined), 20_000);
    await page.waitForFunction((text) => Array.from(document.querySelectorAll("#log-lines .line")).some((line) => line.textContent.includes(text)), probe, { timeout: 15_000 });
    const services = await page.$$eval("#log-lines .line", (lines) => [...new Set(lines.map((line) => line.getAttribute("data-service")))]);
    assert.deepEqual(services, ["api"]);

    await page.click(`${card} [data-action="stop"]`);
    await waitFor("todo to stop", async () => (await projectStatus()) === "stopped", 30_000);
    await page.waitForSelector(`${card} > h3 .status[data-status="stopped"]`);
  });

  it("saves a snapshot of the project and restores it from the page", async () => {
    const snapshots = async (): Promise<{ snapshot_id: string; reason: string }[]> => (await call({ base, path: "/v1/projects/todo/snapshots" })).json<{ snapshots: { snapshot_id: string; reason: string }[] }>().snapshots;
    assert.deepEqual(await snapshots(), []);
    await page.click("#save-snapshot");
    const [saved] = await waitFor("a snapshot saved", async () => {
      const list = await snapshots();
      return list.length === 1 && list;
    });
    assert.equal(saved?.reason, "manual");
    const row = `#snapshot-rows tr[data-snapshot-id="${saved.snapshot_id}"]`;
    await page.waitForSelector(row);
    // Restoring asks first; this answer is yes.
    page.once("dialog", (dialog) => void dialog.accept());
    await page.click(`${row} [data-action="restore"]`);
    const after = await waitFor("the safety snapshot a restore saves", async () => {
      const list = await snapshots();
      return list.length === 2 && list;
    });
    assert.deepEqual(after.map((s) => s.reason).sort(), ["before-restore", "manual"]);
    await page.waitForFunction(() => document.querySelectorAll("#snapshot-rows tr").length === 2);
  });

  it("shows terminals with content in a screenshot, kept as an artifact", async () => {
    const ids: string[] = [];
    for (const command of ["printf '\\e[1;32mghostd\\e[0m dashboard\\n'; ls -la /usr", "echo $((1+2+3+4+5)); uname -sr"]) {
      const created = (await call({ base, headers: JSON_TYPE, method: "POST", path: "/api/v2/terminals", body: "{}" })).json<TerminalJson>();
      ids.push(created.id);
      const input = await call({ base, headers: JSON_TYPE, method: "POST", path: `/api/v2/terminals/${created.id}/input`, body: JSON.stringify({ text: command, enter: true }) });
      assert.equal(input.status, 200, input.text);
    }
    await page.goto(`${base}/#terminals`);
    for (const id of ids) await page.waitForSelector(`[data-terminal-id="${id}"] .state:text("attached")`);
    await waitFor("the commands' output in the tiles", async () => (await tileRows(ids[0]!)).some((row) => row.startsWith("ghostd dashboard")) && (await tileRows(ids[1]!)).some((row) => row.trim() === "15"), 15_000);
    // The colour reached the page: the nonce let xterm.js's theme styles in.
    // xterm.js's theme reached the page (its <style> elements carry the nonce): the rows take the
    // theme's foreground, and the green word its own colour; blocked, both would be the page's.
    const colours = await page.evaluate((id) => {
      const rows = document.querySelector(`[data-terminal-id="${id}"] .xterm-rows`);
      const word = Array.from(rows?.querySelectorAll("span") ?? []).find((s) => s.textContent === "ghostd");
      return { rows: rows ? getComputedStyle(rows).color : "", word: word ? getComputedStyle(word).color : "" };
    }, ids[0]!);
    assert.equal(colours.rows, "rgb(205, 214, 244)");
    assert.match(colours.word, /^rgb\(/);
    assert.notEqual(colours.word, colours.rows);
    // Outside the test's own directory, which goes when it ends: the artifact stays.
    const shot = join(mkdtempSync(join(tmpdir(), "ghostd-dashboard-shot-")), "dashboard.png");
    await page.screenshot({ path: shot });
    console.log(`      screenshot: ${shot}`);
    // Where to keep a copy past the run (docs/dashboard.png is made so).
    const keep = process.env.GHOSTD_DASHBOARD_SCREENSHOT;
    if (keep) copyFileSync(shot, keep);
  });

  it("refuses a terminal WebSocket to a page from another origin, in the browser and as a raw upgrade", async () => {
    const created = (await call({ base, headers: JSON_TYPE, method: "POST", path: "/api/v2/terminals", body: "{}" })).json<TerminalJson>();
    const target = `${base.replace("http:", "ws:")}/api/v2/terminals/${created.id}/attach`;
    const foreign = await servePage(`<!doctype html><script>
      window.outcome = new Promise((resolve) => {
        const ws = new WebSocket(${JSON.stringify(target)});
        ws.onopen = () => resolve("open");
        ws.onerror = () => resolve("error");
      });
    </script>`);
    try {
      const other = await browser.newPage();
      await other.goto(foreign.url);
      assert.equal(await other.evaluate("window.outcome"), "error");
      await other.close();
      const refused = await WsSession.open(target, { Origin: foreign.url.replace(/\/$/, "") }).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(refused instanceof RefusedUpgrade, String(refused));
      assert.equal(refused.status, 403);
      assert.equal((JSON.parse(refused.body) as { error: string }).error, "forbidden");
      // Nor can it read the page, or be led to it from another site.
      const refusals: Record<string, string>[] = [{ Origin: foreign.url.replace(/\/$/, "") }, { "Sec-Fetch-Site": "cross-site" }];
      for (const headers of refusals) {
        const reply = await call({ base, path: "/", headers });
        assert.equal(reply.status, 403, JSON.stringify(headers));
        assert.doesNotMatch(reply.text, /<html/i);
      }
      // The same upgrade from the daemon's own origin is let in: the Origin is what was refused.
      const own = await WsSession.open(target, { Origin: base });
      own.ws.close();
    } finally {
      await closeServer(foreign.server);
    }
  });

  it("loaded with no CSP violation or error, and asked nothing of any origin but the daemon's", async () => {
    trouble.violations.push(...(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)));
    assert.deepEqual(trouble.violations, []);
    assert.deepEqual(trouble.console, []);
    const origin = new URL(base);
    const elsewhere = urls.filter((u) => new URL(u).host !== origin.host);
    assert.ok(urls.some((u) => u.endsWith("/assets/vendor/xterm.mjs")), urls.join("\n"));
    assert.ok(urls.some((u) => u.startsWith("ws:") && u.includes("/attach")), urls.join("\n"));
    assert.deepEqual(elsewhere, []);
  });
});

/** A page from a second local server: another origin than the daemon's, as any web page is. */
async function servePage(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${portOf(server)}/` };
}
