import assert from "node:assert/strict";
import { checkPtySize } from "../../server/agent/processes/launch";
import { ptySize } from "../../server/agent/shell/shell";
import { MAX_PTY_SIDE, isPtySide, ptySizeProblem } from "../../server/pty-size";

describe("PTY sizes", () => {
  it("accepts whole sides from 1 to the maximum and nothing else", () => {
    for (const n of [1, 80, MAX_PTY_SIDE]) assert.equal(isPtySide(n), true, String(n));
    for (const n of [0, -1, 1.5, MAX_PTY_SIDE + 1, Number.NaN, 65535]) assert.equal(isPtySide(n), false, String(n));
  });

  it("names the first bad side", () => {
    assert.equal(ptySizeProblem(80, 24), undefined);
    assert.match(ptySizeProblem(0, 24) ?? "", /^cols must be a whole number from 1 to 4096; got 0$/);
    assert.match(ptySizeProblem(80, 5000) ?? "", /^rows .* got 5000$/);
  });

  it("holds the same bound for shells and background processes", () => {
    assert.deepEqual(ptySize(MAX_PTY_SIDE, MAX_PTY_SIDE), { cols: MAX_PTY_SIDE, rows: MAX_PTY_SIDE });
    assert.deepEqual(ptySize(undefined, undefined), { cols: 80, rows: 24 });
    assert.doesNotThrow(() => checkPtySize(MAX_PTY_SIDE, MAX_PTY_SIDE));
    for (const check of [() => ptySize(MAX_PTY_SIDE + 1, 24), () => checkPtySize(80, MAX_PTY_SIDE + 1)]) {
      assert.throws(check, (err: Error & { reason?: string }) => /from 1 to 4096/.test(err.message));
    }
  });
});
