import assert from "node:assert/strict";
import { attachUrl, exitCodeOf } from "../../cli/terminal-attach";

describe("ghostctl attach's protocol", () => {
  it("attaches through the daemon's HTTP listener as a WebSocket", () => {
    assert.equal(attachUrl("http://127.0.0.1:19999", "0a1b"), "ws://127.0.0.1:19999/api/v2/terminals/0a1b/attach");
    assert.equal(attachUrl("http://127.0.0.1:1", "a/b?c"), "ws://127.0.0.1:1/api/v2/terminals/a%2Fb%3Fc/attach", "an id cannot reach another route");
  });

  it("reads the exit code from the exit event, and passes over other text frames", () => {
    assert.equal(exitCodeOf(Buffer.from('{"type":"exit","code":3}')), 3);
    assert.equal(exitCodeOf(Buffer.from('{"type":"exit","code":0}')), 0);
    assert.equal(exitCodeOf(Buffer.from('{"type":"exit"}')), 1, "an exit without a code is a failure");
    assert.equal(exitCodeOf(Buffer.from('{"type":"title","title":"x"}')), undefined);
    assert.equal(exitCodeOf(Buffer.from("not json")), undefined);
  });
});
