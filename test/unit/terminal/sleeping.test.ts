import assert from "node:assert/strict";
import { Emulator } from "../../../server/terminal/emulator";

/**
 * A terminal that gave up its xterm.js instance must wake as it was: every reading of one that
 * slept between writes equals that of one that never slept.
 */
function pair(sleepAfterMs?: number): { ours: Emulator; reference: Emulator; replies: string[]; write: (data: string) => Promise<void> } {
  const replies: string[] = [];
  const make = (reply: (data: string) => void, sleep?: number) =>
    new Emulator({ columns: 20, rows: 5, scrollback: 50, liveScrollback: 3, reply, changed: () => undefined, sleepAfterMs: sleep });
  const ours = make((data) => replies.push(data), sleepAfterMs);
  const reference = make(() => undefined);
  return {
    ours,
    reference,
    replies,
    write: async (data) => {
      await Promise.all([ours.write(data), reference.write(data)]);
    },
  };
}

function reading(emu: Emulator): unknown {
  return {
    contents: emu.contents(),
    rows: emu.contents({ rows: true }),
    styled: emu.contents({ styled: true }),
    visible: emu.visible(),
    viewport: emu.viewport,
    cursor: emu.cursor,
    modes: emu.modes,
    shell: emu.shell,
    title: emu.title,
    cwd: emu.cwd,
    size: [emu.columns, emu.rows],
    redraw: emu.redraw(),
  };
}

const PROMPT = "\x1b]133;A\x07\x1b]2;a title\x07\x1b]7;file://host/tmp/dir\x07\x1b[1;32muser@host\x1b[0m:\x1b[34m~\x1b[0m$ \x1b]133;B\x07";

describe("terminals asleep", () => {
  it("sleeps at a prompt and wakes with the same screen, scrollback, modes and marks", async () => {
    const { ours, reference, write } = pair();
    await write(Array.from({ length: 30 }, (_, i) => `line ${i} \x1b[3${i % 8}mcolour\x1b[0m`).join("\r\n"));
    await write("\r\n\x1b[?2004h\x1b[?1h\x1b[?1000h\x1b[?1006h\x1b[>5u");
    await write(`a long line that wraps past twenty columns\r\n${PROMPT}ls -l`);
    assert.equal(ours.sleep(), true, "a prompt is a state it can sleep in");
    assert.equal(ours.sleeping, true);
    assert.deepEqual([ours.columns, ours.rows], [20, 5], "the size is known without waking");
    assert.equal(ours.sleeping, true, "reading the size did not wake it");
    assert.deepEqual(reading(ours), reading(reference));
    assert.equal(ours.sleeping, false, "reading woke it");
    assert.equal(ours.sleep(), true);
    await write("\x1b[D\x1b[D\x1b[K\r\n\x1b]133;C\x07out\r\n\x1b]133;D;3\x07");
    assert.deepEqual(reading(ours), reading(reference), "output after waking lands where it would have");
    ours.dispose();
    reference.dispose();
  });

  it("sleeps before any output, and the first write after it completes", async () => {
    const { ours, reference, write } = pair();
    assert.equal(ours.sleep(), true, "a blank terminal redraws from nothing");
    await write("first output");
    assert.deepEqual(reading(ours), reading(reference));
    ours.dispose();
    reference.dispose();
  });

  it("stays awake where a rebuilt instance could differ, and reads the same either way", async () => {
    const states = ["\x1b[3", "\x1b[2;4r\x1b[3;1H", "\x1b[31m", "\x1b[?1049h\x1b[Hfull screen", "\x1b(0", "\x1b7\x1b[3;3H", "\x1b[?25l", "x".repeat(20)];
    for (const state of states) {
      const { ours, reference, write } = pair();
      await write(`${PROMPT}${state}`);
      const slept = ours.sleep();
      if (state === "\x1b[3" || state.startsWith("\x1b[?1049h")) assert.equal(slept, false, `${JSON.stringify(state)} keeps it awake`);
      await write("1mq\x1b8after\r\nnext");
      assert.deepEqual(reading(ours), reading(reference), JSON.stringify(state));
      ours.dispose();
      reference.dispose();
    }
  });

  it("stays awake with half a UTF-8 character read, and finishes it after", async () => {
    const { ours, reference, write } = pair();
    await write(PROMPT);
    const bytes = async (data: number[]): Promise<void> => {
      await Promise.all([ours.write(new Uint8Array(data)), reference.write(new Uint8Array(data))]);
    };
    await bytes([0xe2, 0x82]);
    assert.equal(ours.sleep(), false);
    await bytes([0xac]);
    assert.ok(ours.visible().endsWith("€"));
    assert.deepEqual(reading(ours), reading(reference));
    ours.dispose();
    reference.dispose();
  });

  it("sleeps on its own once unused, and resizes and scrolls after waking", async () => {
    const { ours, reference, write } = pair(20);
    await write(`${Array.from({ length: 12 }, (_, i) => `row ${i}`).join("\r\n")}\r\n${PROMPT}`);
    for (let waited = 0; !ours.sleeping; waited += 5) {
      assert.ok(waited < 5000, "it fell asleep");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const emu of [ours, reference]) emu.resize(12, 4);
    assert.deepEqual(reading(ours), reading(reference), "after a resize");
    for (const emu of [ours, reference]) emu.scrollLines(-6);
    assert.deepEqual(reading(ours), reading(reference), "scrolled back");
    ours.dispose();
    reference.dispose();
  });

  it("answers the program after waking: cursor reports and kitty flags", async () => {
    const { ours, write, replies, reference } = pair();
    await write(`${PROMPT}\x1b[>3u`);
    assert.equal(ours.sleep(), true);
    await write("\x1b[6n\x1b[?u");
    assert.deepEqual(replies, [`\x1b[${reference.cursor.y + 1};${reference.cursor.x + 1}R`, "\x1b[?3u"]);
    ours.dispose();
    reference.dispose();
  });
});

describe("terminals asleep, on a real shell", () => {
  it("sleeps at bash's prompt and runs the next command as if it never slept", async () => {
    const { spawn } = await import("node-pty");
    let output = "";
    const emu = new Emulator({ columns: 40, rows: 6, scrollback: 100, liveScrollback: 2, reply: (data) => shell.write(data), changed: () => undefined, sleepAfterMs: 20 });
    const shell = spawn("/bin/bash", ["--noprofile", "--norc"], { cols: 40, rows: 6, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", PS1: "$ ", TERM: "xterm-256color" } });
    shell.onData((data) => {
      output += data;
      void emu.write(data);
    });
    const until = async (what: string, condition: () => boolean): Promise<void> => {
      for (let waited = 0; !condition(); waited += 5) {
        assert.ok(waited < 10_000, `${what}; the shell wrote ${JSON.stringify(output)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    try {
      shell.write("seq 1 20\r");
      await until("the prompt after seq", () => /^20$/m.test(output) && output.trimEnd().endsWith("$"));
      await until("the terminal fell asleep", () => emu.sleeping);
      shell.write("echo $((6*7))\r");
      await until("the answer", () => /^42\r?$/m.test(output) && output.trimEnd().endsWith("$"));
      await emu.write("");
      assert.match(emu.contents(), /\$ seq 1 20\n1\n2\n[\s\S]*\n20\n\$ echo \$\(\(6\*7\)\)\n42\n\$ $/);
    } finally {
      shell.kill();
      emu.dispose();
    }
  });
});
