import assert from "node:assert/strict";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { GHOSTCTL, ghostctl } from "../helpers/ghostctl";
import { TerminalApi } from "../helpers/terminal-api";
import { tempDir } from "../helpers/tmp";
import { TmuxSession } from "../helpers/tmux";
import { program, requireTools } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NO_SUCH = "00000000-0000-4000-8000-000000000000";

/** The pane's environment: nothing that would point ghostctl elsewhere or change what it prints. */
function paneEnv(): NodeJS.ProcessEnv {
  const dropped = new Set(["GHOSTD_HOME", "GHOSTD_TARGET", "GHOSTCTL_DETACH_KEY", "NO_COLOR", "TMUX"]);
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !dropped.has(name)));
}

describe("ghostctl attach, terminals, new, send and screen", function () {
  this.timeout(60_000);
  const home = tempDir("ghostd-attach-home-");
  const work = tempDir("ghostd-attach-work-");
  let daemon: DaemonProcess;
  let api: TerminalApi;
  let ctl: string;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--log-level", "warn"], env: { HOME: home.path, SHELL: "/bin/bash" } });
    api = new TerminalApi(daemon.endpoints.http ?? "");
    ctl = `${GHOSTCTL} --home ${daemon.home}`;
  });
  after(async () => {
    await daemon.stop();
    daemon.cleanup();
    home.remove();
    work.remove();
  });

  const sized = (id: string, columns: number, rows: number): Promise<boolean> =>
    waitFor(`terminal ${id} to be ${columns}x${rows}`, async () => {
      const terminal = await api.get(id);
      return terminal.columns === columns && terminal.rows === rows;
    });

  describe("on a real terminal (tmux)", () => {
    let tmux: TmuxSession | undefined;
    beforeEach(async function () {
      requireTools(this, [program("tmux", "tmux")]);
      tmux = await TmuxSession.start(100, 30, paneEnv());
    });
    afterEach(async () => {
      await tmux?.kill();
      tmux = undefined;
    });

    it("types into the terminal in raw mode, follows the window's size, and Ctrl-\\ detaches leaving it running", async () => {
      const pane = tmux!;
      const { id } = await api.create({});
      await pane.type(`${ctl} attach ${id}; echo EXIT=$?`);
      await sized(id, 100, 30);

      await pane.type("echo $((6*7))");
      await pane.waitFor(/^42$/m);
      await api.wait(id, "^42$");

      // Ctrl-C reaches the program inside instead of ending ghostctl: raw mode.
      await pane.type("sleep 30");
      await pane.keys("C-c");
      await pane.type("echo after-$((3+4))");
      await api.wait(id, "^after-7$");

      await pane.resize(80, 20);
      await sized(id, 80, 20);

      await pane.keys("C-\\");
      await pane.waitFor(new RegExp(`^\\[detached from ${id}\\]\\nEXIT=0$`, "m"));
      await pane.type("echo local-$((2+3))");
      await pane.waitFor(/^local-5$/m);
      assert.doesNotMatch(await api.detail(id, "contents"), /local-5/, "the pane's own shell is back");
      assert.ok((await api.list()).some((t) => t.id === id), "the terminal is still listed");
      await api.input(id, "echo still-$((1+1))");
      await api.wait(id, "^still-2$");
      await api.close(id);
    });

    it("new attaches; --detach-key C-] detaches; a shell's exit ends ghostctl with its code", async () => {
      const pane = tmux!;
      await pane.type(`${ctl} new --cwd ${work.path} --detach-key 'C-]'; echo EXIT=$?`);
      const created = await waitFor("the new terminal", async () => (await api.list()).find((t) => t.working_directory === work.path));
      await sized(created.id, 100, 30);
      await pane.keys("C-]");
      await pane.waitFor(/^EXIT=0$/m);

      await pane.type(`clear; GHOSTCTL_DETACH_KEY=none ${ctl} attach ${created.id}; echo EXIT=$?`);
      await waitFor("the attach's redraw to clear the pane", async () => !(await pane.capture()).includes("GHOSTCTL_DETACH_KEY"));
      await pane.type("exit 3");
      await pane.waitFor(/^EXIT=3$/m);
      await waitFor("the terminal to leave the list", async () => !(await api.list()).some((t) => t.id === created.id));
    });

    it("says the attachment was lost, on a line of its own, and fails when the daemon goes away", async () => {
      const pane = tmux!;
      const other = await spawnDaemon({ args: ["--log-level", "warn"], env: { HOME: home.path, SHELL: "/bin/bash" } });
      try {
        const { id } = await new TerminalApi(other.endpoints.http ?? "").create({});
        await pane.type(`${GHOSTCTL} --home ${other.home} attach ${id}; echo EXIT=$?`);
        await waitFor("the attach to size the terminal", async () => (await new TerminalApi(other.endpoints.http ?? "").get(id)).columns === 100);
        // Killed, so it cannot close the terminal first and send its exit: the connection just drops.
        await other.stop("SIGKILL");
        await pane.waitFor(new RegExp(`^ghostctl: attachment to ${id} lost before its shell exited: .*\\n(.*\\n)*EXIT=1$`, "m"));
      } finally {
        await other.stop();
        other.cleanup();
      }
    });

    it("lists terminals as a table on a terminal, bold headings unless NO_COLOR is set", async () => {
      const pane = tmux!;
      const { id } = await api.create({});
      await pane.type(`${ctl} terminals`);
      await pane.waitFor(new RegExp(`^ID +SIZE +PID +DIRECTORY +TITLE\\n(.*\\n)*${id} +\\d+x\\d+ +\\d+ `, "m"));
      assert.ok((await pane.capture(true)).includes("\x1b[1mID"), "bold headings");

      await pane.type(`clear; NO_COLOR=1 ${ctl} terminals; echo DONE`);
      await pane.waitFor(/^DONE$/m);
      const styled = await pane.capture(true);
      assert.match(styled, new RegExp(`^${id} `, "m"));
      assert.ok(!styled.includes("\x1b["), "no escape at all");
      await api.close(id);
    });
  });

  describe("in scripts", () => {
    it("new --no-attach prints the id; terminals prints JSON into a pipe", async () => {
      const made = await ghostctl(["new", "--no-attach", "--cwd", work.path], { home: daemon.home });
      assert.equal(made.code, 0, made.stderr);
      const id = made.stdout.trim();
      assert.match(id, UUID);
      const listed = await ghostctl(["terminals"], { home: daemon.home });
      assert.equal(listed.code, 0, listed.stderr);
      const { terminals } = JSON.parse(listed.stdout) as { terminals: { id: string; working_directory?: string }[] };
      assert.equal(terminals.find((t) => t.id === id)?.working_directory, work.path);
      await api.close(id);
    });

    it("send types without Enter unless --enter; screen prints the visible text, waiting for a match with --wait", async () => {
      const { id } = await api.create({});
      const typed = await ghostctl(["send", id, "echo sent-$((3*4))"], { home: daemon.home });
      assert.equal(typed.code, 0, typed.stderr);
      assert.equal(typed.stdout, "");
      const before = await ghostctl(["screen", id, "--wait", "sent-\\$"], { home: daemon.home });
      assert.match(before.stdout, /echo sent-\$\(\(3\*4\)\)\n$/);
      assert.doesNotMatch(before.stdout, /^sent-12$/m, "not run without Enter");

      assert.equal((await ghostctl(["send", "--enter", id, ""], { home: daemon.home })).code, 0);
      const after = await ghostctl(["screen", id, "--wait", "^sent-12$"], { home: daemon.home });
      assert.equal(after.code, 0, after.stderr);
      assert.match(after.stdout, /^sent-12$/m);
      await api.close(id);
    });

    it("new -- COMMAND runs it with stdin not a terminal, and ends with its exit code, however quick the command", async () => {
      // Several at once: a command that ended the terminal before the attachment opened would lose its code.
      const runs = await Promise.all([5, 6, 7].map((code) => ghostctl(["new", "--", `echo made-$((${code}*6)); exit ${code}`], { home: daemon.home })));
      for (const [i, run] of runs.entries()) {
        assert.equal(run.code, 5 + i, run.stderr);
        assert.match(run.stdout, new RegExp(`^made-${(5 + i) * 6}\r?$`, "m"));
      }
    });

    it("says in one line that a terminal does not exist", async () => {
      const attach = await ghostctl(["attach", NO_SUCH], { home: daemon.home });
      assert.equal(attach.code, 1);
      assert.equal(attach.stderr, `ghostctl: no terminal ${NO_SUCH} (terminal_not_found)\n`);
      const screen = await ghostctl(["screen", NO_SUCH], { home: daemon.home });
      assert.equal(screen.code, 1);
      assert.equal(screen.stderr, `ghostctl: no terminal ${NO_SUCH} (NOT_FOUND, terminal_not_found)\n`);
    });

    it("refuses a detach key that is an ordinary key, before creating anything", async () => {
      const count = (await api.list()).length;
      const run = await ghostctl(["new", "--detach-key", "ctrl-m"], { home: daemon.home });
      assert.equal(run.code, 1);
      assert.equal(run.stderr, 'ghostctl: detach key "ctrl-m" is also the Enter key; choose another, such as ctrl-\\ or ctrl-]\n');
      assert.equal((await api.list()).length, count);
    });

    it("says when no daemon runs on the home", async () => {
      const empty = tempDir();
      try {
        const run = await ghostctl(["attach", NO_SUCH], { home: empty.path });
        assert.equal(run.code, 1);
        assert.match(run.stderr, /^ghostctl: ghostd is not running on .*; start it with "npm start"/);
        assert.equal(run.stderr.split("\n").length, 2, "one line");
      } finally {
        empty.remove();
      }
    });

    it("says when the daemon has no HTTP listener to attach through", async () => {
      const plain = await spawnDaemon({ args: ["--http", "off", "--log-level", "warn"] });
      try {
        const run = await ghostctl(["attach", NO_SUCH], { home: plain.home });
        assert.equal(run.code, 1);
        assert.equal(run.stderr, `ghostctl: the daemon on ${plain.home} has no HTTP listener (it runs with --http off), and attach needs one: restart it with --http 127.0.0.1:19999\n`);
      } finally {
        await plain.stop();
        plain.cleanup();
      }
    });
  });
});
