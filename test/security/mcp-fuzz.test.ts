import type { JsonValue } from "@bufbuild/protobuf";
import fc from "fast-check";
import assert from "node:assert/strict";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon";

/**
 * Tools whose calls change nothing, so that arguments made up at random can be sent to them: a
 * fuzz must not delete files or kill processes. The others still get the malformed calls below,
 * which fail before any method runs.
 */
const READ_ONLY = ["terminal_list", "terminal_read", "file_list", "file_stat", "file_read", "project_list", "project_status", "project_logs", "snapshot_list", "compose_validate"];
const ANY_TOOL = [...READ_ONLY, "exec", "file_delete", "terminal_close", "snapshot_restore", "no_such_tool"];

const scalar = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom("~", "/", "/dev/zero", "../../etc/passwd", "\u0000", "x".repeat(5000)));
const value: fc.Arbitrary<JsonValue> = fc.oneof(scalar, fc.array(scalar, { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 10 }), scalar, { maxKeys: 4 }));
const argumentNames = fc.constantFrom("id", "type", "path", "depth", "project_id", "service_name", "tail_lines", "compose_content", "rows", "command", "args", "recursive", "x");

/** A read-only tool with made-up arguments of any type. */
const readCall = fc.record({ name: fc.constantFrom(...READ_ONLY), arguments: fc.dictionary(argumentNames, value, { maxKeys: 4 }) });
/** Any tool, its arguments not an object, or an argument it does not take: refused before a call. */
const malformedCall = fc.record({ name: fc.constantFrom(...ANY_TOOL), arguments: fc.oneof(fc.constant({ no_such_argument: 1 }), fc.array(scalar, { maxLength: 2 })) });

/** A resource read at a made-up URI, of a kind ghostd serves or not. */
const resourceRead = fc.record({
  uri: fc.oneof(fc.string({ maxLength: 60 }), fc.string({ maxLength: 40 }).map((id) => `ghostd://terminals/${id}/screen`), fc.string({ maxLength: 40 }).map((id) => `ghostd://projects/${id}/status`)),
});

const message: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.record({ jsonrpc: fc.constant("2.0"), id: fc.integer(), method: fc.constantFrom("resources/read", "resources/subscribe"), params: resourceRead }),
  fc.record({ jsonrpc: fc.constant("2.0"), id: fc.integer(), method: fc.constant("tools/call"), params: fc.oneof(readCall, malformedCall) }),
  fc.record({ jsonrpc: fc.constantFrom("2.0", "1.0"), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), method: fc.string({ maxLength: 20 }), params: value }),
  value,
);

describe("MCP under hostile input", function () {
  this.timeout(300_000);
  let daemon: DaemonProcess;

  before(async () => {
    daemon = await spawnDaemon({ args: ["--log-level", "warn"] });
  });

  after(async () => {
    await daemon.stop();
    daemon.cleanup();
  });

  it("answers every message in JSON without a server error, and keeps serving", async () => {
    const url = `${daemon.endpoints.http ?? ""}/mcp`;
    await fc.assert(
      fc.asyncProperty(message, async (body) => {
        const reply = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
        const text = await reply.text();
        assert.ok(reply.status < 500, `${reply.status} for ${JSON.stringify(body).slice(0, 300)}: ${text.slice(0, 300)}`);
        // 202 answers a notification, which has no reply; anything else is JSON.
        if (reply.status !== 202) assert.doesNotThrow(() => JSON.parse(text) as unknown, `not JSON: ${text.slice(0, 300)}`);
      }),
      { numRuns: 300 },
    );
    assert.equal(daemon.child.exitCode, null, "the daemon is still running");
    const listed = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    assert.equal(((await listed.json()) as { result: { tools: unknown[] } }).result.tools.length > 0, true);
  });
});
