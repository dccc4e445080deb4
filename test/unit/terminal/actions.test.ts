import assert from "node:assert/strict";
import { DomainError } from "../../../server/errors";
import { commandCatalogue, parseAction, unescapeZig } from "../../../server/terminal/actions";

const reason = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? err.reason : "other";
  }
  return undefined;
};

describe("actions", () => {
  it("parses Ghostty's actions and their parameters", () => {
    assert.deepEqual(parseAction("new_split:right"), { name: "new_split", direction: "right" });
    assert.deepEqual(parseAction("goto_split:previous"), { name: "goto_split", where: "previous" });
    assert.deepEqual(parseAction("goto_tab:3"), { name: "goto_tab", tab: 3 });
    assert.deepEqual(parseAction("resize_split:up,10"), { name: "resize_split", direction: "up", amount: 10 });
    assert.deepEqual(parseAction("scroll_page_lines:-4"), { name: "scroll_page_lines", lines: -4 });
    assert.deepEqual(parseAction("increase_font_size:2"), { name: "increase_font_size", points: 2 });
    assert.deepEqual(parseAction("text:hello\\n"), { name: "text", value: "hello\n" });
    assert.deepEqual(parseAction("csi:2J"), { name: "csi", value: "2J" });
    assert.deepEqual(parseAction("set_surface_title:a:b"), { name: "set_surface_title", value: "a:b" });
    assert.deepEqual(parseAction("copy_to_clipboard"), { name: "copy_to_clipboard" });
  });

  it("answers invalid_action for what is not an action", () => {
    for (const bad of ["explode", "new_split:sideways", "goto_tab:x", "goto_tab:0", "resize_split:up", "new_tab:now", "text:", "text:\\q", "scroll_page_lines:1.5"]) {
      assert.equal(reason(() => parseAction(bad)), "invalid_action", bad);
    }
  });

  it("reads Zig escapes as Ghostty's text action does", () => {
    assert.equal(unescapeZig("a\\tb\\r\\n\\\\\\x41\\u{1F600}\\'\\\""), "a\tb\r\n\\A\u{1F600}'\"");
  });

  it("lists a palette whose every entry the parser accepts", () => {
    const commands = commandCatalogue(3);
    assert.ok(commands.length > 30);
    for (const command of commands) {
      assert.doesNotThrow(() => parseAction(command.action), command.action);
      assert.equal(command.actionKey, command.action.split(":")[0]);
      assert.ok(command.title && command.description);
    }
    assert.deepEqual(commands.filter((c) => c.actionKey === "goto_tab").map((c) => c.action), ["goto_tab:1", "goto_tab:2", "goto_tab:3"]);
  });
});
