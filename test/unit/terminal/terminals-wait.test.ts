import assert from "node:assert/strict";
import type { Terminal, WaitRequest, WaitResponse, WatchScreenResponse } from "../../../generated/ghostd/terminal/v1/terminal";
import type { Terminals } from "../../../server/terminal/terminals";
import { fakeTerminals, type FakePtyHost } from "./fake-pty-host";

const PROMPT = "\x1b]133;A\x07$ \x1b]133;B\x07";

describe("terminals: waiting for and watching the screen (fake PTYs)", () => {
  let terminals: Terminals;
  let host: FakePtyHost;
  let t: Terminal;
  const never = new AbortController().signal;
  beforeEach(async () => {
    ({ terminals, host } = fakeTerminals());
    t = await terminals.create({ location: "window", env: {} });
  });
  afterEach(() => terminals.closeAll());
  /** Resolves once everything the fake printed so far is parsed: the emulator parses in order. */
  const parsed = (): Promise<void> => terminals.output(t.id, "");
  const wait = (request: Omit<WaitRequest, "id">, signal = never): Promise<WaitResponse> => terminals.wait(t.id, { id: t.id, ...request }, signal);

  it("resolves once output from the program matches, with the match, its line and column", async () => {
    const waiting = wait({ match: "late-(\\d+)" });
    host.pty(t.id).print("first line\r\n  and late-42 here");
    const found = await waiting;
    assert.deepEqual(found, { matched: true, match: "late-42", line: 1, column: 6, text: "  and late-42 here", atPrompt: false, lastExitCode: undefined });
  });

  it("answers at once when the screen already matches, and searches the scrollback with scope contents", async () => {
    await terminals.output(t.id, Array.from({ length: 60 }, (_, i) => `row-${i}`).join("\r\n"));
    assert.equal((await wait({ match: "^row-59$" })).line, 39);
    await assert.rejects(wait({ match: "^row-0$", timeoutMs: 0 }), { reason: "wait_timeout" });
    assert.equal((await wait({ match: "^row-0$", scope: "contents" })).line, 0);
  });

  it("waits until the shell shows a new prompt (OSC 133) after Enter, with its exit code", async () => {
    const pty = host.pty(t.id);
    pty.print(PROMPT);
    await parsed();
    terminals.input(t.id, "false", true);
    const waiting = wait({ until: "prompt" });
    let settled = false;
    void waiting.then(() => (settled = true));
    pty.print("\r\n\x1b]133;C\x07");
    await parsed();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "no new prompt yet");
    pty.print(`\x1b]133;D;1\x07${PROMPT}`);
    assert.deepEqual(await waiting, { matched: true, match: "", line: 0, column: 0, text: "", atPrompt: true, lastExitCode: 1 });
    pty.print("done");
    assert.equal((await wait({ match: "done", until: "prompt" })).match, "done", "the prompt shown since the last Enter still counts");
  });

  it("times out with wait_timeout, naming the pattern, or the missing prompt marks", async () => {
    await assert.rejects(wait({ match: "never-shown", timeoutMs: 20 }), { reason: "wait_timeout", message: "the screen did not match /never-shown/ within 20 ms" });
    terminals.input(t.id, "ls", true);
    await assert.rejects(wait({ until: "prompt", timeoutMs: 10 }), {
      reason: "wait_timeout",
      message: "the screen did not show a new prompt within 10 ms; the shell sent no OSC 133 prompt marks (see the shell integration docs)",
    });
    host.pty(t.id).print(PROMPT);
    await parsed();
    terminals.input(t.id, "ls", true);
    await assert.rejects(wait({ until: "prompt", timeoutMs: 10 }), { reason: "wait_timeout", message: "the screen did not show a new prompt within 10 ms" });
  });

  it("fails with terminal_not_found when the terminal closes while waiting", async () => {
    const closedByApi = wait({ match: "never" });
    await terminals.close(t.id);
    await assert.rejects(closedByApi, { reason: "terminal_not_found", message: `terminal ${t.id} closed while waiting` });
    const other = await terminals.create({ location: "window", env: {} });
    const exited = terminals.wait(other.id, { id: other.id, match: "never" }, never);
    host.pty(other.id).exit(0);
    await assert.rejects(exited, { reason: "terminal_not_found", message: `terminal ${other.id} closed while waiting` });
  });

  it("gives up, as cancelled, when the caller goes away", async () => {
    const controller = new AbortController();
    const waiting = wait({ match: "never" }, controller.signal);
    controller.abort();
    await assert.rejects(waiting, { message: "cancelled" });
  });

  it("refuses requests it cannot wait for", async () => {
    await assert.rejects(wait({}), { reason: "missing_field", message: 'wait needs "match", "until", or both' });
    await assert.rejects(wait({ until: "dawn" }), { reason: "invalid_argument", message: 'until "dawn" is not prompt' });
    await assert.rejects(wait({ match: "x", scope: "all" }), { reason: "invalid_argument", message: 'scope "all" is not visible or contents' });
    await assert.rejects(wait({ match: "(" }), { reason: "invalid_match" });
    await assert.rejects(wait({ match: "x", timeoutMs: -1 }), { reason: "invalid_argument", message: "timeout_ms must not be negative" });
    await assert.rejects(terminals.wait("nope", { id: "nope", match: "x" }, never), { reason: "invalid_uuid" });
  });

  it("watches the screen: now, then on each change, until the terminal closes", async () => {
    const controller = new AbortController();
    const screens: WatchScreenResponse[] = [];
    const watching = (async () => {
      for await (const screen of terminals.watch(t.id, 10, controller.signal)) {
        screens.push(screen);
        if (screens.length === 1) host.pty(t.id).print("watched-5");
      }
    })();
    while (screens.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(
      screens.map((s) => [s.visible.trim(), s.cursorX, s.columns, s.rows]),
      [
        ["", 0, 120, 40],
        ["watched-5", 9, 120, 40],
      ],
    );
    await terminals.close(t.id);
    await watching;
    assert.equal(screens.length, 2);
  });

  it("refuses to open a watch of an unknown terminal, before any stream exists", () => {
    assert.throws(() => terminals.watch("nope", undefined, never), { reason: "invalid_uuid", message: '"nope" is not a UUID' });
    assert.throws(() => terminals.watch("00000000-0000-4000-8000-000000000000", undefined, never), { reason: "terminal_not_found" });
  });

  it("watches a terminal named by its UUID in capitals", async () => {
    const stream = terminals.watch(t.id.toUpperCase(), 10, never);
    await stream.next();
    host.pty(t.id).print("shouting");
    const next = await stream.next();
    assert.match(next.done ? "" : next.value.visible, /shouting/);
    await stream.return(undefined);
  });
});
