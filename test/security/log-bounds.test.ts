import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { daemonLogger, MAX_LOGGED_CHARS } from "../../server/logger";
import { DomainError, Code } from "../../server/errors";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";
import { HostApi } from "../helpers/host-api";
import { TerminalApi } from "../helpers/terminal-api";
import { tempDir } from "../helpers/tmp";
import { waitFor } from "../helpers/wait";

const LONG = "x".repeat(100_000);

/** A logger writing to an array of lines. */
function capturedLogger(): { logger: ReturnType<typeof daemonLogger>; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: daemonLogger("debug", { pid: 1 }, sink), lines };
}

/** Log lines copy what requests carried; none may be as long as what a client sent. */
describe("security: log lines are bounded", function () {
  this.timeout(60_000);

  it("cuts every value a line holds, an error's message and stack included, and says how much it cut", () => {
    const { logger, lines } = capturedLogger();
    const nested = { path: LONG, command: [LONG, LONG], env: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`K${i}`, LONG])), deep: { a: { b: { c: { d: { e: LONG } } } } } };
    logger.error({ err: new DomainError(Code.INVALID_ARGUMENT, "invalid_argument", `bad path ${LONG}`, { path: LONG }), request: nested, bytes: Buffer.alloc(1_000_000) }, `request failed for ${LONG}`);
    logger.warn({ error: new TypeError(LONG), list: Array.from({ length: 10_000 }, (_, i) => i) }, "second");
    // What JSON writes long: control characters (six bytes each), and a great many small entries.
    const wide = (depth: number): Record<string, unknown> => Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, depth === 0 ? i : wide(depth - 1)]));
    const arrays = (depth: number): unknown[] => Array.from({ length: 40 }, () => (depth === 0 ? {} : arrays(depth - 1)));
    logger.warn({ nul: "\u0000".repeat(100_000), wide: wide(3), [`\u0001`.repeat(1000)]: 1 }, "\u0002".repeat(10_000));
    logger.warn({ empties: arrays(2), more: arrays(2) }, "empties");
    assert.equal(lines.length, 4);
    for (const line of lines) assert.ok(line.length < 4096, `a line of ${line.length} characters`);
    const first = JSON.parse(lines[0] ?? "{}") as { msg: string; err: { type: string; message: string; stack: string; reason: string }; request: { path: string } };
    assert.match(first.request.path, new RegExp(`^x{${MAX_LOGGED_CHARS}}… \\(${100_000 - MAX_LOGGED_CHARS} more characters\\)$`));
    assert.match(first.msg, /^request failed for x+… \(\d+ more characters\)$/);
    assert.equal(first.err.type, "DomainError");
    assert.equal(first.err.reason, "invalid_argument");
    assert.match(first.err.message, /more characters\)$/);
    assert.match(first.err.stack, /\n {4}at /, "the stack's frames are kept");
  });

  describe("a real daemon at debug level", () => {
    const home = tempDir("ghostd-sec-logs-");
    let daemon: DaemonProcess;

    before(async () => {
      daemon = await spawnDaemon({ args: ["--http", "127.0.0.1:0", "--log-level", "debug"], env: { HOME: home.path, SHELL: "/bin/sh" } });
    });
    after(async () => {
      await daemon.stop();
      daemon.cleanup();
      home.remove();
    });

    it("logs requests carrying 100 KB values in lines under 4 KiB", async () => {
      const terminals = new TerminalApi(daemon.endpoints.http ?? "");
      const host = new HostApi(daemon.endpoints.host_api.local ?? "");
      assert.equal((await terminals.request("POST", "/terminals", { location: LONG })).status, 400);
      assert.equal((await host.send("POST", "/api/v1/fs/mkdir", { path: `/tmp/${LONG}` })).status, 400);
      assert.equal((await host.exec({ command: `echo ${LONG} | wc -c` })).status, 404);
      // The location's error quotes the value: its line is the one that must have been cut.
      const logged = await waitFor("the failed calls in the log", () => {
        const lines = daemon.output().split("\n");
        return lines.some((line) => line.includes("invalid_location")) && lines.some((line) => line.includes("command_not_found")) && lines;
      });
      const long = logged.filter((line) => line.length >= 4096);
      assert.deepEqual(long.map((line) => `${line.slice(0, 200)}… (${line.length} characters)`), []);
      assert.ok(logged.some((line) => line.includes("invalid_location") && line.includes("more characters)")), "the quoted location was cut with a marker");
    });
  });
});
