import assert from "node:assert/strict";
import { Code, DomainError } from "../../../server/errors";
import { ProcessTable, type ProcessEvent, type ProcessInfo, type StartOptions } from "../../../server/agent/processes";
import { OutputHistory } from "../../../server/agent/processes/output-history";
import { processStart } from "../../../server/proc";
import { ThreadPtyHost } from "../../../server/terminal/pty-host/host";
import { tempDir } from "../../helpers/tmp";
import { program, requireTools } from "../../helpers/tools";
import { waitFor } from "../../helpers/wait";

type EndEvent = Extract<ProcessEvent, { kind: "end" }>;

/** Prints 0, 1, 2… a line each, one write per line, until stopped. */
const COUNTER = "import itertools, sys, time\nfor i in itertools.count():\n    sys.stdout.write(f'{i}\\n')\n    time.sleep(0.02)";
/** Echoes each line of stdin back with a prefix until stdin ends. */
const ECHO = "import sys\nfor line in sys.stdin:\n    sys.stdout.write('echo:' + line)";

/** Reads a process's events as a client would, keeping what came. */
class Reader {
  readonly events: ProcessEvent[] = [];
  finished = false;
  private readonly iterator: AsyncIterator<ProcessEvent>;

  constructor(events: AsyncIterable<ProcessEvent>) {
    this.iterator = events[Symbol.asyncIterator]();
  }

  get text(): string {
    return Buffer.concat(this.events.flatMap((event) => ("data" in event ? [event.data] : []))).toString();
  }

  get end(): EndEvent | undefined {
    return this.events.find((event): event is EndEvent => event.kind === "end");
  }

  /** The whole lines of output that are numbers. */
  get numbers(): number[] {
    return this.text.split("\n").filter((line) => /^\d+$/.test(line)).map(Number);
  }

  /** Reads on until `done` holds; fails when the stream ends first or `timeoutMs` passes. */
  async until(what: string, done: (reader: Reader) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      if (this.finished) throw new Error(`the stream ended before ${what}; it held ${JSON.stringify(this.text.slice(-500))}`);
      await this.step(deadline - Date.now(), what);
    }
  }

  untilText(pattern: RegExp): Promise<void> {
    return this.until(`output matching ${pattern}`, (reader) => pattern.test(reader.text));
  }

  untilEnd(): Promise<EndEvent> {
    return this.until("the end", (reader) => reader.end !== undefined).then(() => this.end!);
  }

  private async step(ms: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after waiting for ${what}; got ${JSON.stringify(this.text.slice(-500))}`)), Math.max(ms, 0));
    });
    try {
      const result = await Promise.race([this.iterator.next(), timeout]);
      if (result.done) this.finished = true;
      else this.events.push(result.value);
    } finally {
      clearTimeout(timer);
    }
  }
}

function reason(name: string, code: Code): (err: unknown) => boolean {
  return (err: unknown) => err instanceof DomainError && err.reason === name && err.code === code;
}

describe("background processes", function () {
  const dir = tempDir("ghostd-processes-");
  const host = new ThreadPtyHost();
  let table: ProcessTable;
  const connections: AbortController[] = [];

  const newTable = (): ProcessTable => new ProcessTable({ home: dir.path, env: process.env, ptyHost: host });
  const start = (options: Partial<StartOptions> & Pick<StartOptions, "command" | "args">): Promise<ProcessInfo> => table.start({ env: {}, ...options });
  const python = (script: string, tag?: string): Promise<ProcessInfo> => start({ command: "python3", args: ["-u", "-c", script], tag });
  const connect = (pid: number, replay: boolean): Reader => {
    const abort = new AbortController();
    connections.push(abort);
    return new Reader(table.connect({ pid }, { replay }, abort.signal));
  };
  const infoOf = (pid: number): ProcessInfo | undefined => table.list().find((info) => info.pid === pid);

  before(function () {
    requireTools(this, [program("python3", "python3"), program("stty", "coreutils")]);
    table = newTable();
  });
  afterEach(() => {
    for (const abort of connections.splice(0)) abort.abort();
  });
  after(async () => {
    await table.close();
    await host.close();
    dir.remove();
  });

  it("keeps a tagged process running across connects, live output only without replay and all of it with", async () => {
    const started = await python(COUNTER, "counter");
    assert.deepEqual({ ...infoOf(started.pid), startedAt: undefined }, { pid: started.pid, tag: "counter", command: "python3", args: ["-u", "-c", COUNTER], cwd: dir.path, pty: false, running: true, startedAt: undefined });

    const abort = new AbortController();
    const first = new Reader(table.connect({ tag: "counter" }, { replay: false }, abort.signal));
    await first.until("three counts", (reader) => reader.numbers.length >= 3);
    assert.deepEqual(first.events[0], { kind: "start", pid: started.pid });
    abort.abort();
    await first.until("the stream to end on abort", (reader) => reader.finished);
    assert.equal(first.end, undefined, "an abort ends the stream without an end event");

    const lastSeen = Math.max(...first.numbers);
    const live = connect(started.pid, false);
    await live.until(`a count past ${lastSeen}`, (reader) => reader.numbers.some((n) => n > lastSeen + 2));
    assert.equal(infoOf(started.pid)?.running, true, "the process outlives the aborted connect");
    assert.ok(live.numbers[0]! > lastSeen, `without replay the first count (${live.numbers[0]}) is newer than ${lastSeen}`);

    const replayed = connect(started.pid, true);
    await replayed.until(`the counts up to ${lastSeen}`, (reader) => reader.numbers.includes(lastSeen));
    assert.deepEqual(replayed.numbers.slice(0, lastSeen + 1), [...Array(lastSeen + 1).keys()], "the replay starts at the first count");
  });

  it("passes input to stdin in order, and ends the process with an exit code 0 once stdin is closed", async () => {
    const { pid } = await python(ECHO);
    const reader = connect(pid, true);
    table.sendInput({ pid }, Buffer.from("hello\n"));
    table.sendInput({ pid }, Buffer.from("wor"));
    table.sendInput({ pid }, Buffer.from("ld\n"));
    await reader.untilText(/echo:hello\necho:world\n/);
    table.closeStdin({ pid });
    assert.deepEqual(await reader.untilEnd(), { kind: "end", exitCode: 0 });
    await reader.until("the stream to end after its end event", (r) => r.finished);
    assert.deepEqual({ running: infoOf(pid)?.running, exitCode: infoOf(pid)?.exitCode }, { running: false, exitCode: 0 });
    assert.throws(() => table.sendInput({ pid }, Buffer.from("late\n")), reason("process_exited", Code.FAILED_PRECONDITION));
    assert.throws(() => table.signal({ pid }, "SIGTERM"), reason("process_exited", Code.FAILED_PRECONDITION));
  });

  it("refuses input once stdin is closed, and a resize of a process on pipes", async () => {
    const { pid } = await start({ command: "sleep", args: ["30"] });
    table.closeStdin({ pid });
    assert.throws(() => table.sendInput({ pid }, Buffer.from("x")), reason("stdin_closed", Code.FAILED_PRECONDITION));
    assert.throws(() => table.resize({ pid }, 100, 30), reason("not_a_pty", Code.FAILED_PRECONDITION));
    table.signal({ pid }, "SIGKILL");
    assert.deepEqual(await connect(pid, false).untilEnd(), { kind: "end", exitCode: 137, signal: "SIGKILL" });
  });

  it("runs a process on a PTY with TERM=xterm-256color, and resizes it", async () => {
    const script = 'echo "term=$TERM"; stty size; read x; stty size';
    const { pid, pty } = await start({ command: "sh", args: ["-c", script], pty: { cols: 80, rows: 24 } });
    assert.equal(pty, true);
    const reader = connect(pid, true);
    await reader.untilText(/term=xterm-256color\r?\n24 80\r?\n/);
    table.resize({ pid }, 100, 30);
    table.sendInput({ pid }, Buffer.from("\r"));
    await reader.untilText(/30 100\r?\n/);
    assert.deepEqual(await reader.untilEnd(), { kind: "end", exitCode: 0 });
    assert.ok(reader.events.every((event) => !("data" in event) || event.kind === "pty"), "PTY output comes as one stream, pty");
  });

  it("refuses to close a PTY's stdin, and a size out of bounds", async () => {
    const { pid } = await start({ command: "sleep", args: ["30"], pty: { cols: 80, rows: 24 } });
    assert.throws(() => table.closeStdin({ pid }), reason("is_a_pty", Code.FAILED_PRECONDITION));
    assert.throws(() => table.resize({ pid }, 0, 30), reason("invalid_argument", Code.INVALID_ARGUMENT));
    await assert.rejects(start({ command: "sleep", args: ["30"], pty: { cols: 80, rows: 100_000 } }), reason("invalid_argument", Code.INVALID_ARGUMENT));
    table.signal({ pid }, "SIGHUP");
    assert.deepEqual(await connect(pid, false).untilEnd(), { kind: "end", exitCode: 129, signal: "SIGHUP" });
  });

  it("signals a process: SIGTERM ends it with exit code 143", async () => {
    const { pid } = await python(COUNTER, "doomed");
    const reader = connect(pid, false);
    await reader.until("a count", (r) => r.numbers.length > 0);
    table.signal({ tag: "doomed" }, "SIGTERM");
    assert.deepEqual(await reader.untilEnd(), { kind: "end", exitCode: 143, signal: "SIGTERM" });
    await waitFor("the table to list it as exited", () => infoOf(pid)?.running === false);
    assert.equal(infoOf(pid)?.exitCode, 143);
    const late = connect(pid, false);
    await late.until("the stream to end", (r) => r.finished);
    assert.deepEqual(late.events, [{ kind: "start", pid }, { kind: "end", exitCode: 143, signal: "SIGTERM" }], "an exited process: start, then end");
  });

  it("says process_not_found (NOT_FOUND) for an unknown pid or tag", () => {
    const notFound = reason("process_not_found", Code.NOT_FOUND);
    assert.throws(() => table.connect({ pid: 987_654_321 }, { replay: true }, new AbortController().signal), notFound);
    assert.throws(() => table.sendInput({ pid: 987_654_321 }, Buffer.from("x")), notFound);
    assert.throws(() => table.signal({ tag: "no-such-tag" }, "SIGTERM"), notFound);
    assert.throws(() => table.resize({ tag: "no-such-tag" }, 80, 24), notFound);
  });

  it("refuses a missing command, and a tag a running process has", async () => {
    await assert.rejects(start({ command: "no-such-command-ghostd", args: [] }), reason("command_not_found", Code.NOT_FOUND));
    const first = await start({ command: "sleep", args: ["30"], tag: "once" });
    await assert.rejects(start({ command: "sleep", args: ["30"], tag: "once" }), reason("invalid_argument", Code.INVALID_ARGUMENT));
    table.signal({ tag: "once" }, "SIGKILL");
    await connect(first.pid, false).untilEnd();
    await waitFor("the tag to be free", () => infoOf(first.pid)?.running === false);
    const second = await start({ command: "sleep", args: ["30"], tag: "once" });
    table.signal({ tag: "once" }, "SIGKILL");
    assert.notEqual(second.pid, first.pid);
  });

  it("gives every concurrent connect all of the output, in order", async () => {
    const script = "import sys\nsys.stdin.readline()\nfor i in range(2000):\n    sys.stdout.write(f'{i}\\n')";
    const { pid } = await python(script);
    const readers = [connect(pid, false), connect(pid, false)];
    // The first event shows the reader subscribed: all output after it reaches it.
    for (const reader of readers) await reader.until("start", (r) => r.events.length > 0);
    table.sendInput({ pid }, Buffer.from("go\n"));
    const expected = [...Array(2000).keys()];
    for (const reader of readers) {
      assert.deepEqual(await reader.untilEnd(), { kind: "end", exitCode: 0 });
      assert.deepEqual(reader.numbers, expected);
    }
  });

  it("drops a reader that falls a queue behind, with reader_too_slow, and keeps the latest output for replay", async () => {
    const script = "import sys\nsys.stdin.readline()\nline = 'x' * 1023 + '\\n'\nfor i in range(4096):\n    sys.stdout.write(line)\nsys.stdout.write('last\\n')";
    const { pid } = await python(script);
    const abort = new AbortController();
    connections.push(abort);
    const slow = table.connect({ pid }, { replay: false }, abort.signal)[Symbol.asyncIterator]();
    assert.deepEqual((await slow.next()).value, { kind: "start", pid });
    table.sendInput({ pid }, Buffer.from("go\n"));
    await waitFor("the writer to exit", () => infoOf(pid)?.running === false);
    const drain = async (): Promise<void> => {
      while (!(await slow.next()).done);
    };
    await assert.rejects(drain(), reason("reader_too_slow", Code.RESOURCE_EXHAUSTED));

    const replay = connect(pid, true);
    assert.deepEqual(await replay.untilEnd(), { kind: "end", exitCode: 0 });
    assert.equal(Buffer.byteLength(replay.text), 256 * 1024, "the history holds its limit");
    assert.ok(replay.text.endsWith("x\nlast\n"));
  });

  it("kills every process, on pipes and on a PTY, on close", async () => {
    const own = newTable();
    const pipe = await own.start({ command: "sleep", args: ["60"], env: {} });
    const pty = await own.start({ command: "sleep", args: ["60"], env: {}, pty: { cols: 80, rows: 24 } });
    const abort = new AbortController();
    connections.push(abort);
    const reader = new Reader(own.connect({ pid: pipe.pid }, { replay: false }, abort.signal));
    await reader.until("start", (r) => r.events.length > 0);
    await own.close();
    const listed = new Map(own.list().map((info) => [info.pid, [info.running, info.exitCode]]));
    assert.deepEqual(listed, new Map([[pipe.pid, [false, 137]], [pty.pid, [false, 137]]]));
    assert.deepEqual(await reader.untilEnd(), { kind: "end", exitCode: 137, signal: "SIGKILL" });
    for (const pid of [pipe.pid, pty.pid]) await waitFor(`process ${pid} to be gone`, () => processStart(pid) === 0);
    await assert.rejects(own.start({ command: "sleep", args: ["1"], env: {} }), reason("exec_unavailable", Code.UNAVAILABLE));
  });
});

describe("process output history", () => {
  const texts = (history: OutputHistory): string[] => history.snapshot().map((chunk) => `${chunk.kind}:${chunk.data.toString()}`);

  it("keeps the streams interleaved as they came, small chunks of one stream joined", () => {
    const history = new OutputHistory(100);
    history.append("stdout", Buffer.from("a"));
    history.append("stdout", Buffer.from("b"));
    history.append("stderr", Buffer.from("c"));
    history.append("stdout", Buffer.from("d"));
    assert.deepEqual(texts(history), ["stdout:ab", "stderr:c", "stdout:d"]);
  });

  it("drops the oldest bytes past its limit, cutting into a chunk where the limit falls", () => {
    const history = new OutputHistory(10);
    history.append("stdout", Buffer.from("0123456"));
    history.append("stderr", Buffer.from("789ab"));
    assert.deepEqual(texts(history), ["stdout:23456", "stderr:789ab"]);
    history.append("stdout", Buffer.from("cdefghijklmnop"));
    assert.deepEqual(texts(history), ["stdout:ghijklmnop"]);
    assert.equal(history.size, 10);
  });

  it("stays at its limit over many chunks", () => {
    const history = new OutputHistory(5000);
    for (let i = 0; i < 10_000; i++) history.append(i % 2 ? "stdout" : "stderr", Buffer.from(`${i % 10}`.repeat(3)));
    assert.equal(history.size, 5000);
    assert.equal(Buffer.concat(history.snapshot().map((chunk) => chunk.data)).length, 5000);
    assert.equal(history.snapshot().at(-1)?.data.toString(), "999");
  });
});
