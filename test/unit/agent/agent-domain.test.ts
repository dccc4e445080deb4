import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { loadConfigFile } from "../../../cli/config-file";
import { ConfigError } from "../../../cli/config";
import { GuestClipboard } from "../../../server/agent/clipboard";
import { execute } from "../../../server/agent/exec";
import { FileQueue } from "../../../server/agent/file-queue";
import { outputText } from "../../../server/agent/output-text";
import { guestPath } from "../../../server/agent/paths";
import { fsError } from "../../../server/agent/reasons";
import { ClipboardStore } from "../../../server/clipboard/store";
import { mediaTypeOf } from "../../../server/clipboard/desktop";
import { DomainError } from "../../../server/errors";
import { tempDir } from "../../helpers/tmp";

const reasonOf = (err: unknown) => (err instanceof DomainError ? err.reason : String(err));

describe("guest agent domain", () => {
  it("expands ~ and takes relative paths from the home", () => {
    assert.equal(guestPath("~", "/home/u"), "/home/u");
    assert.equal(guestPath("~/a/../b", "/home/u"), "/home/u/b");
    assert.equal(guestPath("notes", "/home/u"), "/home/u/notes");
    assert.equal(guestPath("/etc//hosts", "/home/u"), "/etc/hosts");
  });

  it("maps file system errors to reasons", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.deepEqual(["ENOENT", "ENOTDIR", "EISDIR", "EACCES", "EPERM", "EEXIST", "ENOTEMPTY", "ELOOP"].map((c) => reasonOf(fsError(err(c), "/p"))), [
      "path_not_found", "not_a_directory", "is_a_directory", "permission_denied", "permission_denied", "already_exists", "directory_not_empty", "invalid_argument",
    ]);
  });

  it("executes with streams, a cap and a timeout", async () => {
    const context = { home: "/tmp", env: { PATH: "/usr/bin:/bin" }, outputLimit: 10 };
    const chunks: string[] = [];
    const result = await execute(
      { command: "printf", args: ["0123456789abcdef"], timeoutSeconds: 5, cwd: undefined, env: {}, stdin: undefined },
      context,
      { stdout: (c) => void chunks.push(c.toString()) },
      new AbortController().signal,
    );
    assert.deepEqual([result.stdout.toString(), result.truncated, result.exitCode], ["0123456789", { stdout: true, stderr: false }, 0]);
    assert.equal(chunks.join(""), "0123456789abcdef", "the stream still sees everything");
    const killed = await execute({ command: "sh", args: ["-c", "kill -TERM $$"], timeoutSeconds: 5, cwd: undefined, env: {}, stdin: undefined }, context, {}, new AbortController().signal);
    assert.equal(killed.exitCode, 128 + 15);
    await assert.rejects(
      execute({ command: "sleep", args: ["5"], timeoutSeconds: 0.2, cwd: undefined, env: {}, stdin: undefined }, context, {}, new AbortController().signal),
      (err: unknown) => reasonOf(err) === "exec_timeout",
    );
    const early = new AbortController();
    early.abort();
    await assert.rejects(
      execute({ command: "sleep", args: ["5"], timeoutSeconds: 10, cwd: undefined, env: {}, stdin: undefined }, context, {}, early.signal),
      (err: unknown) => reasonOf(err) === "cancelled",
    );
    const late = new AbortController();
    const running = execute({ command: "sh", args: ["-c", "echo started; sleep 5"], timeoutSeconds: 10, cwd: undefined, env: {}, stdin: undefined }, context, { stdout: () => late.abort() }, late.signal);
    assert.equal((await running).exitCode, 128 + 9, "a command whose client went away is killed");
  });

  it("writes output as exact UTF-8, as lossy UTF-8 or as base64", () => {
    const cutE = Buffer.from([0x61, 0xc3]); // "a" and the first byte of "é"
    assert.deepEqual(outputText(cutE, { base64: false, cut: true }), { text: "a", encoding: "utf-8" }, "the limit split the character");
    assert.deepEqual(outputText(cutE, { base64: false, cut: false }), { text: "a\ufffd", encoding: "utf-8-lossy" }, "the command left it unfinished");
    assert.deepEqual(outputText(Buffer.from([0xff, 0x61, 0xc3]), { base64: false, cut: true }), { text: "\ufffda", encoding: "utf-8-lossy" }, "bad bytes before a cut still count");
    assert.deepEqual(outputText(Buffer.from("\ufeffx"), { base64: false, cut: false }), { text: "\ufeffx", encoding: "utf-8" }, "a byte order mark is output too");
    assert.deepEqual(outputText(cutE, { base64: true, cut: true }), { text: "YcM=", encoding: "base64" });
  });

  it("keeps the file queue in a file", async () => {
    const dir = tempDir();
    const file = join(dir.path, "a.txt");
    writeFileSync(file, "a");
    const queue = new FileQueue(join(dir.path, "state", "queue.json"));
    assert.deepEqual(await queue.add([file], "/"), [file]);
    assert.deepEqual(new FileQueue(join(dir.path, "state", "queue.json")).list(), [file]);
    await assert.rejects(queue.add([join(dir.path, "missing")], "/"), (err: unknown) => reasonOf(err) === "path_not_found");
    await assert.rejects(queue.add([], "/"), (err: unknown) => reasonOf(err) === "invalid_argument");
    await queue.clear();
    assert.deepEqual(new FileQueue(join(dir.path, "state", "queue.json")).list(), []);
    writeFileSync(join(dir.path, "broken.json"), "{not json");
    assert.deepEqual(new FileQueue(join(dir.path, "broken.json")).list(), [], "a damaged queue file starts an empty queue");
    dir.remove();
  });

  it("reads the clipboard from raw bytes or JSON", async () => {
    const store = new ClipboardStore();
    const clipboard = new GuestClipboard(store, undefined, pino({ level: "silent" }));
    await clipboard.set({ data: Buffer.from('{"content":"hi","type":"public.html"}'), contentType: "application/json", type: undefined, headerType: "ignored" });
    assert.deepEqual([store.text, store.get().type], ["hi", "public.html"]);
    await clipboard.set({ data: Buffer.from('{"other":1}'), contentType: "application/json", type: undefined, headerType: undefined });
    assert.equal(store.text, '{"other":1}', "JSON without content is the clipboard itself");
    await clipboard.set({ data: Buffer.from("raw"), contentType: "text/plain", type: "public.plain-text", headerType: "x" });
    assert.equal(store.get().type, "public.plain-text");
    assert.equal(mediaTypeOf("public.utf8-plain-text"), "text/plain;charset=utf-8");
    assert.equal(mediaTypeOf("image/webp"), "image/webp");
  });

  it("reads --config files and says what is wrong with them", () => {
    const dir = tempDir();
    const file = join(dir.path, "c.yaml");
    writeFileSync(file, "vms:\n  - name: dev\n    target: unix:/run/dev.sock\n  - name: fc\n    target: fc-vsock:/run/v.sock:1024\n");
    assert.deepEqual(loadConfigFile(file).vms, [
      { name: "dev", target: "unix:/run/dev.sock" },
      { name: "fc", target: "fc-vsock:/run/v.sock:1024" },
    ]);
    for (const [text, message] of [
      ["vms: 3\n", /must be a list/],
      ["vms:\n  - name: dev\n", /needs a name and a target/],
      ["vms:\n  - {name: dev, target: nowhere}\n", /vms\[0\].*expected unix/],
      ["a: &a [*a]\n", /--config/],
      ["- 1\n", /expected a mapping/],
    ] as const) {
      writeFileSync(file, text);
      assert.throws(() => loadConfigFile(file), (err: unknown) => err instanceof ConfigError && message.test(err.message), text);
    }
    writeFileSync(file, "");
    assert.deepEqual(loadConfigFile(file).vms, []);
    dir.remove();
  });
});
