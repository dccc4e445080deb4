import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../cli/package-info";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { call, JSON_TYPE } from "../helpers/http";
import { hex, TerminalApi, type Modifiers, type TerminalJson } from "../helpers/terminal-api";
import { tempDir } from "../helpers/tmp";
import { file, requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

const execFileAsync = promisify(execFile);
const KEYREADER = join(packageRoot, "test", "fixtures", "keyreader.py");
const BASH_INTEGRATION = join(packageRoot, "server", "terminal", "shell-integration", "ghostd.bash");
const ZSH_INTEGRATION = join(packageRoot, "server", "terminal", "shell-integration", "ghostd.zsh");

/** Whether a process still runs (a zombie does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Every process in a session, from /proc. */
function sessionOf(sid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[3]) === sid && fields[0] !== "Z") out.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return out;
}

describe("Terminal API v2 on real PTYs", function () {
  this.timeout(60_000);
  let daemon: DaemonProcess;
  let api: TerminalApi;
  const home = tempDir("ghostd-term-home-");
  const work = tempDir("ghostd-term-work-");

  before(async () => {
    // A home without rc files keeps every shell's start-up the same.
    daemon = await spawnDaemon({ env: { HOME: home.path, SHELL: "/bin/bash" } });
    api = new TerminalApi(daemon.endpoints.http ?? "");
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
    work.remove();
  });

  /** A terminal with a prompt on screen. */
  async function shell(body: Record<string, unknown> = {}): Promise<TerminalJson> {
    const terminal = await api.create({ working_directory: work.path, ...body });
    await api.wait(terminal.id, "[$#] $");
    return terminal;
  }

  /** Starts the key reader in a terminal, with these bytes written first to enable modes. */
  async function reader(setup = ""): Promise<TerminalJson> {
    const terminal = await shell();
    await api.input(terminal.id, `/usr/bin/python3 ${KEYREADER} ${hex(setup)}`);
    await api.wait(terminal.id, "^READY$");
    return terminal;
  }

  /** What the reader got for the next event, as hex. */
  async function received(id: string, expected: string): Promise<void> {
    await api.wait(id, `^GOT ${hex(expected)}$`);
  }

  describe("creating and closing", () => {
    it("creates a window with the seed's terminal object", async () => {
      const terminal = await shell();
      assert.match(terminal.id, /^[0-9a-f-]{36}$/);
      assert.equal(terminal.kind, "normal");
      assert.equal(terminal.focused, true);
      assert.deepEqual([terminal.columns, terminal.rows, terminal.cell_width, terminal.cell_height], [120, 40, 10, 20]);
      assert.equal(terminal.working_directory, work.path);
      assert.equal(terminal.title, "bash");
      const fetched = await api.get(terminal.id);
      assert.deepEqual([fetched.id, fetched.kind, fetched.columns, fetched.rows, fetched.pid], [terminal.id, "normal", 120, 40, terminal.pid]);
      assert.equal((await api.ok<TerminalJson>("GET", "/terminals/focused")).id, terminal.id);
      assert.ok((await api.list()).some((t) => t.id === terminal.id));
      // The v1 paths answer the same objects.
      const v1 = await call({ base: api.base, path: `/api/v1/surfaces/${terminal.id}` });
      assert.deepEqual([v1.status, v1.json().id, v1.json().kind], [200, terminal.id, "normal"]);
      const surfaces = (await call({ base: api.base, path: "/api/v1/surfaces" })).json<{ surfaces: TerminalJson[] }>().surfaces;
      assert.ok(surfaces.some((t) => t.id === terminal.id));
      await api.close(terminal.id);
    });

    it("runs the seed's development environment script, and lays the three terminals out", async () => {
      const project = join(work.path, "myapp");
      mkdirSync(project, { recursive: true });
      const before = new Set((await api.list()).map((t) => t.id));
      // Seed 001's example, with only its paths and commands changed.
      const script = `
API="${daemon.endpoints.http ?? ""}/api/v2"
PROJECT="${project}"

# Create main window with editor
MAIN=$(curl -s -X POST "$API/terminals" \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"location\\": \\"window\\",
    \\"working_directory\\": \\"$PROJECT\\",
    \\"command\\": \\"cat\\"
  }" | jq -r '.id')

sleep 0.5

# Split right for server
curl -s -X POST "$API/terminals" \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"location\\": \\"split:right\\",
    \\"parent\\": \\"$MAIN\\",
    \\"working_directory\\": \\"$PROJECT\\",
    \\"command\\": \\"sleep 60\\"
  }"

sleep 0.5

# Split down for git/misc
curl -s -X POST "$API/terminals" \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"location\\": \\"split:down\\",
    \\"parent\\": \\"$MAIN\\",
    \\"working_directory\\": \\"$PROJECT\\"
  }"
echo
echo "MAIN=$MAIN"
`;
      const { stdout } = await execFileAsync("bash", ["-c", script]);
      const main = /MAIN=(\S+)/.exec(stdout)?.[1] ?? "";
      const created = (await api.list()).filter((t) => !before.has(t.id));
      assert.equal(created.length, 3, stdout);
      const byId = new Map(created.map((t) => [t.id, t]));
      const mainTerminal = byId.get(main);
      assert.ok(mainTerminal);
      const others = created.filter((t) => t.id !== main);
      const right = others.find((t) => t.rows === 40);
      const down = others.find((t) => t.rows === 20);
      assert.deepEqual([mainTerminal.columns, mainTerminal.rows], [60, 20], "main: left half, top half");
      assert.deepEqual([right?.columns, right?.rows], [60, 40], "right: the right half");
      assert.deepEqual([down?.columns, down?.rows], [60, 20], "down: left half, bottom half");
      assert.ok(created.every((t) => t.window_id === mainTerminal.window_id && t.working_directory === project));
      // The program inside sees the size too.
      await api.wait(down?.id ?? "", "[$#] $");
      await api.input(down?.id ?? "", "stty size");
      await api.wait(down?.id ?? "", "^20 60$");
      await Promise.all(created.map((t) => api.close(t.id)));
    });

    it("resizes the PTYs of a split, and the programs inside get SIGWINCH", async () => {
      const left = await shell();
      const program = `import signal,shutil,time; signal.signal(signal.SIGWINCH, lambda *a: print('WINCH', *shutil.get_terminal_size(), flush=True)); print('WAITING', flush=True); time.sleep(60)`;
      await api.input(left.id, `/usr/bin/python3 -c "${program}"`);
      await api.wait(left.id, "^WAITING$");
      const right = await api.create({ location: "split:right", parent: left.id });
      await api.wait(left.id, "^WINCH 60 40$");
      await api.close(right.id);
      await api.wait(left.id, "^WINCH 120 40$");
      await api.close(left.id);
    });

    it("defaults the parent of a split or tab to the focused terminal", async () => {
      const first = await shell();
      const split = await api.create({ location: "split:down" });
      assert.equal(split.window_id, first.window_id);
      assert.equal((await api.get(first.id)).rows, 20);
      const tab = await api.create({ location: "tab" });
      assert.equal(tab.window_id, first.window_id);
      assert.equal(tab.tab, 2);
      assert.deepEqual([tab.columns, tab.rows], [120, 40]);
      assert.equal(tab.focused, true);
      await api.ok("POST", `/terminals/${first.id}/focus`, {});
      assert.equal((await api.get(first.id)).focused, true);
      assert.equal((await api.get(tab.id)).focused, false);
      for (const t of [first, split, tab]) await api.close(t.id);
    });

    it("merges env into the shell's environment and starts in working_directory", async () => {
      const terminal = await shell({ env: { GHOSTD_TEST_VALUE: "from-the-api" } });
      await api.input(terminal.id, 'echo "value=$GHOSTD_TEST_VALUE pwd=$(pwd)"');
      await api.wait(terminal.id, `^value=from-the-api pwd=${work.path}$`);
      await api.close(terminal.id);
    });

    it("types a command once the shell is ready, and closes the terminal when it ends", async () => {
      const marker = join(work.path, "ran-command");
      const terminal = await api.create({ command: `echo done > ${marker}` });
      await waitFor("the command's terminal to close", async () => !(await api.list()).some((t) => t.id === terminal.id));
      assert.equal(readFileSync(marker, "utf8"), "done\n");
      assert.ok(!alive(terminal.pid));
    });

    it("closes a terminal when its shell exits", async () => {
      const terminal = await shell();
      await api.input(terminal.id, "exit");
      await waitFor("the exited terminal to disappear", async () => (await api.request("GET", `/terminals/${terminal.id}`)).status === 404);
    });

    it("hangs up the shell on DELETE and leaves none of its processes behind", async () => {
      const terminal = await shell();
      await api.input(terminal.id, "sleep 1000 & sleep 2000");
      await waitFor("both sleeps to run", () => sessionOf(terminal.pid).length >= 3);
      const members = sessionOf(terminal.pid);
      const reply = await api.request("DELETE", `/terminals/${terminal.id}?confirm=true`);
      assert.deepEqual(reply.json(), { success: true });
      for (const pid of members) assert.ok(!alive(pid), `pid ${pid} of the terminal's session is gone`);
      assert.equal((await api.request("GET", `/terminals/${terminal.id}`)).status, 404);
    });

    it("opens the quick terminal once and returns it after", async () => {
      const first = await api.ok<{ terminals: TerminalJson[] }>("POST", "/quick-terminal", {});
      const again = await api.ok<{ terminals: TerminalJson[] }>("POST", "/quick-terminal", {});
      assert.equal(first.terminals.length, 1);
      const [quick] = first.terminals;
      assert.ok(quick);
      assert.equal(quick.kind, "quick");
      assert.equal(again.terminals[0]?.id, quick.id);
      assert.deepEqual([quick.columns, quick.rows], [120, 20]);
      // The seed's "Toggle Quick Terminal from Script" example.
      const { stdout } = await execFileAsync("curl", ["-s", "-X", "POST", `${api.base}/api/v2/quick-terminal`, "-H", "Content-Type: application/json", "-d", "{}"]);
      assert.equal((JSON.parse(stdout) as { terminals: TerminalJson[] }).terminals[0]?.id, quick.id);
      assert.equal((await api.request("POST", "/terminals", { location: "tab", parent: quick.id })).json().error, "invalid_location");
      await api.action(quick.id, "toggle_quick_terminal");
      assert.equal((await api.request("GET", `/terminals/${quick.id}`)).status, 404);
    });
  });

  describe("input and output", () => {
    let terminal: TerminalJson;
    before(async () => {
      terminal = await shell();
    });
    after(async () => {
      await api.close(terminal.id);
    });

    it("types text and Enter: echo hi shows hi", async () => {
      await api.input(terminal.id, "echo hi");
      const found = await api.wait(terminal.id, "^hi$");
      assert.equal(found.text, "hi");
      assert.equal(found.column, 0);
    });

    it("follows the shell's working directory and the title the program sets", async () => {
      await api.input(terminal.id, "cd /tmp");
      await waitFor("working_directory to follow cd", async () => (await api.get(terminal.id)).working_directory === "/tmp");
      await api.input(terminal.id, "printf '\\e]0;t1\\a'");
      await waitFor("the title t1", async () => (await api.get(terminal.id)).title === "t1");
      assert.equal(await api.detail(terminal.id, "title"), "t1");
      assert.equal(await api.detail(terminal.id, "working_directory"), "/tmp");
    });

    it("feeds output to the emulator only, never to the program", async () => {
      await api.ok("POST", `/terminals/${terminal.id}/output`, { data: "\u001b]2;from-output\u0007INJECTED" });
      await api.wait(terminal.id, "INJECTED");
      assert.equal((await api.get(terminal.id)).title, "from-output");
      await api.ok("POST", `/terminals/${terminal.id}/output`, { data: "\u001b]7;file://host/var/tmp\u0007" });
      assert.equal((await api.get(terminal.id)).working_directory, "/var/tmp");
      await api.input(terminal.id, "echo clean-$((40+2))");
      await api.wait(terminal.id, "^clean-42$");
    });

    it("interrupts a running program with control+c, as in the seed's example", async () => {
      await api.input(terminal.id, "sleep 100");
      await waitFor("sleep to run", () => sessionOf(terminal.pid).length >= 2);
      const { stdout } = await execFileAsync("curl", [
        "-s", "-X", "POST", `${api.base}/api/v2/terminals/${terminal.id}/key`, "-H", "Content-Type: application/json", "-d", '{"key": "c", "mods": ["control"]}',
      ]);
      assert.deepEqual(JSON.parse(stdout), { success: true, sent: true });
      await waitFor("sleep to be interrupted", () => sessionOf(terminal.pid).length === 1);
      await api.input(terminal.id, "echo after-$((1+1))");
      await api.wait(terminal.id, "^after-2$");
    });

    it("shows the line the shell runs after editing among emoji: both count 👍 as two columns", async () => {
      const t = await shell({ env: { LANG: "C.UTF-8" } });
      await api.input(t.id, "echo 👍👍👍 end", false);
      await api.wait(t.id, "echo 👍👍👍 end$");
      for (let i = 0; i < 6; i++) await api.key(t.id, "left");
      await api.input(t.id, "Z", false);
      // Readline redraws the tail and walks the cursor back by columns; had we counted 👍 as one
      // column, the screen would show another line than the one the shell runs.
      const shown = await api.wait(t.id, "echo 👍Z👍👍 end$");
      await api.key(t.id, "enter");
      const ran = await api.wait(t.id, "^👍Z👍👍 end$");
      assert.equal(ran.line, shown.line + 1);
      await api.close(t.id);
    });
  });

  describe("keys as the program receives them", () => {
    it("sends xterm's encoding, and SS3 arrows once the program sets application cursor mode", async () => {
      const t = await reader();
      const cases: [string, Modifiers, string][] = [
        ["up", [], "\x1b[A"],
        ["up", ["control"], "\x1b[1;5A"],
        ["f5", ["shift"], "\x1b[15;2~"],
        ["f1", ["control"], "\x1b[1;5P"],
        ["x", ["option"], "\x1bx"],
        ["enter", [], "\r"],
        ["backspace", [], "\x7f"],
        ["tab", ["shift"], "\x1b[Z"],
        ["page_down", [], "\x1b[6~"],
      ];
      for (const [key, mods, bytes] of cases) {
        await api.key(t.id, key, mods);
        await received(t.id, bytes);
      }
      const release = await api.key(t.id, "a", [], "release");
      assert.equal(release.sent, false);
      assert.match(release.note ?? "", /kitty/);
      await api.key(t.id, "q");
      await api.close(t.id);
      const app = await reader("\x1b[?1h");
      await api.key(app.id, "up");
      await received(app.id, "\x1bOA");
      await api.key(app.id, "home");
      await received(app.id, "\x1bOH");
      await api.close(app.id);
    });

    it("speaks the kitty keyboard protocol when the program pushes its flags", async () => {
      const t = await reader("\x1b[>3u");
      await api.key(t.id, "c", ["control"]);
      await received(t.id, "\x1b[99;5u");
      await api.key(t.id, "s", ["command"]);
      await received(t.id, "\x1b[115;9u");
      const release = await api.key(t.id, "a", [], "release");
      assert.equal(release.sent, true);
      await received(t.id, "\x1b[97;1:3u");
      await api.close(t.id);
    });

    it("pastes text in brackets when the program enabled bracketed paste", async () => {
      const t = await reader("\x1b[?2004h");
      await api.input(t.id, "hi", false);
      await received(t.id, "\x1b[200~hi\x1b[201~");
      // "paste": false types it as keys, for editors that treat a paste differently.
      await api.request("POST", `/terminals/${t.id}/input`, { text: "x", paste: false });
      await received(t.id, "x");
      await api.close(t.id);
    });
  });

  describe("the mouse", () => {
    it("reports SGR mouse events to a program that asked for them", async () => {
      const t = await reader("\x1b[?1000h\x1b[?1006h");
      await api.ok("POST", `/terminals/${t.id}/mouse/position`, { x: 25, y: 45 });
      await api.ok("POST", `/terminals/${t.id}/mouse/button`, { button: "left", action: "press" });
      await received(t.id, "\x1b[<0;3;3M");
      await api.ok("POST", `/terminals/${t.id}/mouse/button`, { button: "left", action: "release", mods: ["control"] });
      await received(t.id, "\x1b[<16;3;3m");
      await api.ok("POST", `/terminals/${t.id}/mouse/scroll`, { y: 1 });
      await received(t.id, "\x1b[<64;3;3M");
      await api.ok("POST", `/terminals/${t.id}/mouse/scroll`, { y: -1 });
      await received(t.id, "\x1b[<65;3;3M");
      await api.close(t.id);
    });

    it("sends legacy mouse bytes without SGR, and arrow keys for the wheel in the alternate screen", async () => {
      const legacy = await reader("\x1b[?1000h");
      await api.ok("POST", `/terminals/${legacy.id}/mouse/position`, { x: 0, y: 0 });
      await api.ok("POST", `/terminals/${legacy.id}/mouse/button`, { button: "right" });
      await received(legacy.id, "\x1b[M\x22!!");
      await api.close(legacy.id);
      const alternate = await reader("\x1b[?1049h");
      await api.ok("POST", `/terminals/${alternate.id}/mouse/scroll`, { y: 2 });
      await received(alternate.id, "\x1b[A\x1b[A");
      await api.close(alternate.id);
    });

    it("selects text by press, drag and release, as details/selection and the seed's example read it", async () => {
      const t = await shell();
      await api.run(t.id, "clear");
      await api.input(t.id, "printf 'alpha beta\\ngamma delta\\n'");
      const { line } = await api.wait(t.id, "^gamma delta$");
      const y = (row: number) => row * 20 + 5;
      await api.ok("POST", `/terminals/${t.id}/mouse/position`, { x: 60, y: y(line - 1) });
      await api.ok("POST", `/terminals/${t.id}/mouse/button`, { button: "left", action: "press" });
      await api.ok("POST", `/terminals/${t.id}/mouse/position`, { x: 45, y: y(line) });
      await api.ok("POST", `/terminals/${t.id}/mouse/button`, { button: "left", action: "release" });
      assert.equal(await api.detail(t.id, "selection"), "beta\ngamma");
      const script = `UUID=${t.id}\nSELECTION=$(curl -s "${api.base}/api/v2/terminals/$UUID/details/selection" \\\n  | jq -r '.value')\n\necho "Selected: $SELECTION"`;
      assert.equal((await execFileAsync("bash", ["-c", script])).stdout, "Selected: beta\ngamma\n");
      // A click without a drag selects nothing.
      await api.ok("POST", `/terminals/${t.id}/mouse/button`, { button: "left", action: "press" });
      await api.ok("POST", `/terminals/${t.id}/mouse/button`, { button: "left", action: "release" });
      assert.equal(await api.detail(t.id, "selection"), "");
      await api.close(t.id);
    });

    it("gives the screen one line per row with ?rows=true, as tmux capture-pane does", async () => {
      const t = await shell();
      const { columns, rows } = await api.get(t.id);
      await api.input(t.id, `printf '%0250d\\n' 0; echo DONE`);
      await api.wait(t.id, "^DONE$");
      assert.ok((await api.detail(t.id, "visible")).includes("0".repeat(250)), "joined as a user would copy it");
      const grid = (await api.ok<{ value: string }>("GET", `/terminals/${t.id}/details/visible?rows=true`)).value.split("\n");
      assert.equal(grid.length, rows);
      assert.ok(grid.every((row) => row.length <= columns), "no line longer than a row");
      assert.equal(grid.filter((row) => /^0+$/.test(row)).join(""), "0".repeat(250));
      await api.close(t.id);
    });

    it("gives colours and bold as SGR escapes with ?styled=true, as tmux capture-pane -e does", async () => {
      const t = await shell();
      await api.input(t.id, "printf '\\033[1;32mGREEN\\033[0m plain\\n'; echo DONE");
      await api.wait(t.id, "^DONE$");
      const styled = (await api.ok<{ value: string }>("GET", `/terminals/${t.id}/details/visible?styled=true`)).value.split("\n");
      assert.ok(styled.includes("\x1b[0;1;32mGREEN\x1b[0m plain"), JSON.stringify(styled));
      assert.equal(styled.length, (await api.get(t.id)).rows, "one line per row");
      assert.ok((await api.detail(t.id, "visible")).includes("\nGREEN plain\n"), "plain text without ?styled");
      await api.close(t.id);
    });

    it("scrolls the viewport through the scrollback with the wheel", async () => {
      const t = await shell();
      await api.input(t.id, "seq 1 200");
      // The prompt after it too: the screen must be done changing before it is compared.
      await api.wait(t.id, "^200\n.*[$#] $");
      const bottom = await api.detail(t.id, "visible");
      await api.ok("POST", `/terminals/${t.id}/mouse/scroll`, { y: 50 });
      const scrolled = await api.detail(t.id, "visible");
      assert.notEqual(scrolled, bottom);
      assert.ok(!scrolled.includes("\n200\n"));
      await api.ok("POST", `/terminals/${t.id}/mouse/scroll`, { y: -50 });
      assert.equal(await api.detail(t.id, "visible"), bottom);
      await api.action(t.id, "scroll_to_top");
      assert.notEqual(await api.detail(t.id, "visible"), bottom);
      await api.action(t.id, "scroll_to_bottom");
      assert.equal(await api.detail(t.id, "visible"), bottom);
      assert.ok((await api.detail(t.id, "contents")).includes("\n1\n2\n3\n"), "contents hold the scrollback");
      await api.close(t.id);
    });
  });

  describe("actions", () => {
    it("splits, moves focus, zooms, equalizes and resizes through actions", async () => {
      const a = await shell();
      await api.action(a.id, "new_split:right");
      const b = (await api.list()).find((t) => t.window_id === a.window_id && t.id !== a.id);
      assert.ok(b);
      assert.equal(b.focused, true);
      await api.action(b.id, "goto_split:left");
      assert.equal((await api.get(a.id)).focused, true);
      assert.equal((await api.request("POST", `/terminals/${a.id}/action`, { action: "goto_split:up" })).json().error, "action_failed");
      await api.action(a.id, "toggle_split_zoom");
      assert.equal((await api.get(a.id)).columns, 120);
      await api.action(a.id, "toggle_split_zoom");
      assert.equal((await api.get(a.id)).columns, 60);
      await api.action(a.id, "resize_split:right,100");
      assert.deepEqual([(await api.get(a.id)).columns, (await api.get(b.id)).columns], [70, 50]);
      await api.action(a.id, "equalize_splits");
      assert.equal((await api.get(a.id)).columns, 60);
      await api.action(a.id, "increase_font_size:13");
      const big = await api.get(a.id);
      assert.deepEqual([big.cell_width, big.cell_height, big.columns, big.rows], [20, 40, 30, 20]);
      await api.action(a.id, "reset_font_size");
      assert.equal((await api.get(a.id)).columns, 60);
      await api.action(a.id, "close_window");
      assert.equal((await api.request("GET", `/terminals/${b.id}`)).status, 404);
    });

    it("goes to tabs, and fails to go to a tab that does not exist", async () => {
      const a = await shell();
      await api.action(a.id, "new_tab");
      const b = (await api.list()).find((t) => t.window_id === a.window_id && t.id !== a.id);
      assert.ok(b);
      assert.equal(b.tab, 2);
      await api.action(a.id, "goto_tab:1");
      assert.equal((await api.get(a.id)).focused, true);
      await api.action(a.id, "next_tab");
      assert.equal((await api.get(b.id)).focused, true);
      const missing = await api.request("POST", `/terminals/${a.id}/action`, { action: "goto_tab:9" });
      assert.equal(missing.status, 400);
      assert.equal(missing.json().error, "action_failed");
      await api.action(a.id, "close_tab");
      await api.action(b.id, "close_surface");
      assert.equal((await api.request("GET", `/terminals/${b.id}`)).status, 404);
    });

    it("types text:, csi: and esc: actions, sets the title, clears and resets", async () => {
      const t = await shell();
      const reply = await api.ok("POST", `/terminals/${t.id}/action`, { action: "text:echo from-\\x61ction\\n" });
      assert.deepEqual(reply, { success: true, action: "text:echo from-\\x61ction\\n" });
      await api.wait(t.id, "^from-action$");
      await api.action(t.id, "set_surface_title:Fixed");
      assert.equal((await api.get(t.id)).title, "Fixed");
      await api.action(t.id, "clear_screen");
      assert.ok(!(await api.detail(t.id, "contents")).includes("from-action"));
      await api.action(t.id, "reset");
      await api.action(t.id, "csi:D");
      await api.action(t.id, "esc:b");
      // The v1 action path takes the v1 escape syntax.
      const v1 = await call({ base: api.base, headers: JSON_TYPE, method: "POST", path: `/api/v1/surfaces/${t.id}/actions`, body: JSON.stringify({ action: "text:echo v1-ok\\n" }) });
      assert.equal(v1.status, 200);
      await api.wait(t.id, "^v1-ok$");
      await api.close(t.id);
    });

    it("copies the selection to the daemon's clipboard and pastes it back", async () => {
      const t = await shell();
      await api.run(t.id, "clear");
      await api.input(t.id, "echo copy-me");
      await api.wait(t.id, "^copy-me$");
      await api.action(t.id, "select_all");
      assert.match(await api.detail(t.id, "selection"), /copy-me/);
      await api.action(t.id, "copy_to_clipboard");
      await api.input(t.id, "clear; cat > /dev/null");
      await waitFor("cat to read the terminal", async () => (await api.get(t.id)).title === "cat");
      await api.action(t.id, "paste_from_clipboard");
      await api.wait(t.id, "copy-me");
      await api.key(t.id, "c", ["control"]);
      await api.close(t.id);
    });

    it("answers invalid_action for an unknown action and action_failed for impossible ones", async () => {
      const t = await shell();
      const unknown = await api.request("POST", `/terminals/${t.id}/action`, { action: "launch_rockets" });
      assert.deepEqual([unknown.status, unknown.json().error], [400, "invalid_action"]);
      const copy = await api.request("POST", `/terminals/${t.id}/action`, { action: "copy_to_clipboard" });
      assert.deepEqual([copy.status, copy.json().error], [400, "action_failed"]);
      const zoom = await api.request("POST", `/terminals/${t.id}/action`, { action: "toggle_split_zoom" });
      assert.equal(zoom.json().error, "action_failed");
      const fullscreen = await api.request("POST", `/terminals/${t.id}/action`, { action: "toggle_fullscreen" });
      assert.equal(fullscreen.json().error, "action_failed");
      await api.close(t.id);
    });

    it("lists the command palette, the same actions PerformAction accepts", async () => {
      const t = await shell();
      const { commands } = await api.ok<{ commands: { action_key: string; action: string; title: string; description: string }[] }>("GET", `/commands?terminal=${t.id}`);
      assert.ok(commands.some((c) => c.action === "new_split:right" && c.action_key === "new_split" && c.title && c.description));
      assert.ok(commands.some((c) => c.action === "goto_tab:1"));
      assert.ok(!commands.some((c) => c.action === "goto_tab:2"), "one tab: no goto_tab:2");
      for (const command of commands.filter((c) => c.action_key.startsWith("scroll"))) await api.action(t.id, command.action);
      const v1 = await call({ base: api.base, path: `/api/v1/surfaces/${t.id}/commands` });
      assert.equal((v1.json<{ commands: unknown[] }>()).commands.length, commands.length);
      assert.equal((await api.request("GET", "/commands?terminal=nope")).json().error, "invalid_uuid");
      await api.close(t.id);
    });
  });

  describe("status bar", () => {
    it("stores the surface's values over the window's fallback, and toggles", async () => {
      const a = await shell();
      const b = await api.create({ location: "split:right", parent: a.id });
      await api.ok("POST", `/terminals/${a.id}/statusbar`, { left: "branch: main", center: "build 123", right: "OK", visible: true });
      assert.deepEqual((await api.get(a.id)).statusbar, { left: "branch: main", center: "build 123", right: "OK", visible: true });
      await api.ok("POST", `/terminals/${a.id}/statusbar`, { right: "window-wide", scope: "window", visible: true });
      assert.deepEqual((await api.get(b.id)).statusbar, { left: "", center: "", right: "window-wide", visible: true });
      assert.equal((await api.get(a.id)).statusbar?.right, "OK", "the surface's own value wins");
      await api.ok("POST", `/terminals/${a.id}/statusbar`, { toggle: true, visible: true });
      assert.equal((await api.get(a.id)).statusbar?.visible, false, "toggle takes precedence over visible");
      const bad = await api.request("POST", `/terminals/${a.id}/statusbar`, { scope: "galaxy" });
      assert.equal(bad.json().error, "invalid_argument");
      await api.close(a.id);
      await api.close(b.id);
    });
  });

  describe("reading the screen", () => {
    it("answers screen and every detail type, and refuses unknown types", async () => {
      const t = await shell();
      await api.input(t.id, "echo screen-check");
      await api.wait(t.id, "^screen-check$");
      const screen = await api.ok<{ id: string; contents: string }>("GET", `/terminals/${t.id}/screen`);
      assert.equal(screen.id, t.id);
      assert.match(screen.contents, /\nscreen-check\n/);
      assert.equal(await api.detail(t.id, "contents"), screen.contents);
      assert.match(await api.detail(t.id, "visible"), /screen-check/);
      const v1 = await call({ base: api.base, path: `/api/v1/surfaces/${t.id}/screen` });
      assert.equal(v1.json().id, t.id);
      const bad = await api.request("GET", `/terminals/${t.id}/details/colour`);
      assert.deepEqual([bad.status, bad.json().error], [400, "invalid_detail"]);
      await api.close(t.id);
    });

    it("waits server side, with the match and where, or 408 on timeout", async () => {
      const t = await shell();
      await api.input(t.id, "sleep 0.3; echo late-$((6*7))");
      const found = await api.wait(t.id, "late-(\\d+)");
      assert.equal(found.match, "late-42");
      assert.equal(found.column, 0);
      const timeout = await api.request("POST", `/terminals/${t.id}/wait`, { match: "never-shown", timeout_ms: 200 });
      assert.deepEqual([timeout.status, timeout.json().error], [408, "wait_timeout"]);
      const regex = await api.request("POST", `/terminals/${t.id}/wait`, { match: "(" });
      assert.deepEqual([regex.status, regex.json().error], [400, "invalid_match"]);
      await api.close(t.id);
    });

    it("streams the visible screen as it changes (WatchScreen as NDJSON)", async () => {
      const t = await shell();
      const url = new URL(`${api.base}/api/v2/terminals/${t.id}/screen/watch?interval_ms=20`);
      const lines: { result?: { visible: string } }[] = [];
      const req = request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, agent: false }, (res) => {
        let buffer = "";
        res.on("data", (chunk: Buffer) => {
          buffer += chunk.toString();
          for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
            lines.push(JSON.parse(buffer.slice(0, nl)) as { result?: { visible: string } });
            buffer = buffer.slice(nl + 1);
          }
        });
        res.on("error", () => undefined);
      });
      req.on("error", () => undefined);
      req.end();
      await waitFor("the first screen", () => lines.length >= 1);
      await api.input(t.id, "echo watched-$((2+3))");
      await waitFor("a screen with the output", () => lines.some((l) => /watched-5/.test(l.result?.visible ?? "")));
      req.destroy();
      await api.close(t.id);
    });
  });

  describe("shell integration (OSC 133)", () => {
    for (const [shellPath, snippet] of [
      ["/bin/bash", BASH_INTEGRATION],
      ["/usr/bin/zsh", ZSH_INTEGRATION],
    ] as const) {
      it(`reports at_prompt and last_exit_code, and waits until the prompt, with ${shellPath}`, async function () {
        requireTools(this, [file(shellPath, shellPath === "/usr/bin/zsh" ? "zsh" : "bash")]);
        const t = await api.create({ env: { SHELL: shellPath }, working_directory: work.path });
        await api.input(t.id, `source ${snippet}`);
        await waitFor("the first marked prompt", async () => (await api.get(t.id)).at_prompt);
        await api.input(t.id, "sleep 0.3; false");
        const done = await api.ok<{ last_exit_code?: number; at_prompt: boolean }>("POST", `/terminals/${t.id}/wait`, { until: "prompt", timeout_ms: 10_000 });
        assert.deepEqual([done.at_prompt, done.last_exit_code], [true, 1]);
        await api.input(t.id, "cd /tmp; (exit 7)");
        await api.ok("POST", `/terminals/${t.id}/wait`, { until: "prompt" });
        const terminal = await api.get(t.id);
        assert.equal(terminal.last_exit_code, 7);
        assert.equal(terminal.working_directory, "/tmp");
        await api.close(t.id);
      });
    }
  });

  describe("errors (seed 001's table)", () => {
    it("answers invalid_uuid, terminal_not_found, invalid_location, missing_field and invalid_json", async () => {
      const cases: [string, string, unknown, number, string][] = [
        ["GET", "/terminals/not-a-uuid", undefined, 400, "invalid_uuid"],
        ["GET", "/terminals/6ba7b810-9dad-11d1-80b4-00c04fd430c8", undefined, 404, "terminal_not_found"],
        ["DELETE", "/terminals/6ba7b810-9dad-11d1-80b4-00c04fd430c8", undefined, 404, "terminal_not_found"],
        ["POST", "/terminals", { location: "moon" }, 400, "invalid_location"],
        ["POST", "/terminals", { location: "tab", parent: "nope" }, 400, "invalid_uuid"],
        ["POST", "/terminals/6ba7b810-9dad-11d1-80b4-00c04fd430c8/input", {}, 400, "missing_field"],
        ["POST", "/terminals/6ba7b810-9dad-11d1-80b4-00c04fd430c8/action", {}, 400, "missing_field"],
        ["POST", "/terminals/6ba7b810-9dad-11d1-80b4-00c04fd430c8/key", { key: 5 }, 400, "invalid_json"],
        ["POST", "/terminals/6ba7b810-9dad-11d1-80b4-00c04fd430c8/mouse/position", { x: 1 }, 400, "missing_field"],
      ];
      for (const [method, path, body, status, error] of cases) {
        const reply = await api.request(method, path, body);
        assert.deepEqual([reply.status, reply.json().error], [status, error], `${method} ${path}`);
        assert.equal(typeof reply.json().message, "string");
      }
      const broken = await call({ base: api.base, headers: JSON_TYPE, method: "POST", path: "/api/v2/terminals", body: "{oops" });
      assert.deepEqual([broken.status, broken.json().error], [400, "invalid_json"]);
    });

    it("refuses bad keys, buttons and a wrong method, and a 10 MB text with 413", async () => {
      const t = await shell();
      assert.equal((await api.request("POST", `/terminals/${t.id}/key`, { key: "hyperdrive" })).json().error, "invalid_key");
      assert.equal((await api.request("POST", `/terminals/${t.id}/key`, { key: "a", mods: ["meta-ish"] })).json().error, "invalid_key");
      assert.equal((await api.request("POST", `/terminals/${t.id}/mouse/button`, { button: "fourth" })).json().error, "invalid_button");
      assert.equal((await api.request("PUT", `/terminals/${t.id}/input`, { text: "x" })).status, 405);
      const huge = await api.request("POST", `/terminals/${t.id}/input`, { text: "x".repeat(10 * 1024 * 1024) });
      assert.deepEqual([huge.status, huge.json().error], [413, "payload_too_large"]);
      await api.input(t.id, "echo still-$((9*9))");
      await api.wait(t.id, "^still-81$");
      await api.close(t.id);
    });

    it("answers no_focused_terminal when no terminal is focused, on v2 and v1", async () => {
      for (const t of await api.list()) await api.close(t.id);
      const v2 = await api.request("GET", "/terminals/focused");
      assert.deepEqual([v2.status, v2.json()], [404, { error: "no_focused_terminal", message: "No terminal is currently focused" }]);
      const v1 = await call({ base: api.base, path: "/api/v1/surfaces/focused" });
      assert.equal(v1.status, 404);
      assert.deepEqual((await call({ base: api.base, path: "/api/v1/surfaces" })).json(), { surfaces: [] });
    });
  });

  describe("at scale", () => {
    it("keeps 100 open terminals responsive and leaves no process behind when they close", async function () {
      this.timeout(180_000);
      const ids: TerminalJson[] = [];
      for (let batch = 0; batch < 10; batch++) {
        ids.push(...(await Promise.all(Array.from({ length: 10 }, () => api.create({ working_directory: work.path })))));
      }
      assert.equal((await api.list()).length, 100);
      const started = Date.now();
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          ids.slice(batch * 10, batch * 10 + 10).map(async (t, i) => {
            await api.input(t.id, `echo reply-${batch * 10 + i}`);
            await api.wait(t.id, `^reply-${batch * 10 + i}$`);
          }),
        );
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 60_000, `100 round trips took ${elapsed} ms`);
      const t0 = Date.now();
      await api.list();
      assert.ok(Date.now() - t0 < 2000, "listing 100 terminals stays quick");
      const pids = ids.flatMap((t) => sessionOf(t.pid));
      for (let batch = 0; batch < 10; batch++) await Promise.all(ids.slice(batch * 10, batch * 10 + 10).map((t) => api.close(t.id)));
      assert.deepEqual(pids.filter(alive), [], "no process of any terminal is left");
      assert.equal((await api.list()).length, 0);
    });
  });
});
