import assert from "node:assert/strict";
import { seccompProgram } from "../../../server/supervisor/runtime/sandbox/seccomp";

/** Runs a classic-BPF seccomp program over one system call, as the kernel would. */
function verdict(program: Buffer, call: { arch: number; nr: number; args?: number[] }): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(call.nr, 0);
  data.writeUInt32LE(call.arch >>> 0, 4);
  (call.args ?? []).forEach((arg, i) => data.writeUInt32LE(arg >>> 0, 16 + i * 8));
  let accumulator = 0;
  for (let pc = 0; pc * 8 < program.length; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) accumulator = data.readUInt32LE(k);
    else if (code === 0x06) return k;
    else if (code === 0x15) pc += accumulator === k ? jt : jf;
    else if (code === 0x35) pc += accumulator >= k ? jt : jf;
    else if (code === 0x45) pc += (accumulator & k) !== 0 ? jt : jf;
    else throw new Error(`unknown instruction ${code}`);
  }
  throw new Error("ran off the end of the program");
}

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const KILL = 0x80000000;

describe("the sandbox's seccomp filter", () => {
  for (const [arch, audit, numbers] of [
    ["x64", 0xc000003e, { read: 0, mount: 165, ptrace: 101, unshare: 272, ioctl: 16, clone: 56, clone3: 435, bpf: 321 }],
    ["arm64", 0xc00000b7, { read: 63, mount: 40, ptrace: 117, unshare: 97, ioctl: 29, clone: 220, clone3: 435, bpf: 280 }],
  ] as const) {
    it(`on ${arch}: denies what reaches past a sandbox and allows the rest`, () => {
      const program = seccompProgram(arch);
      assert.ok(program);
      const run = (nr: number, args?: number[]) => verdict(program, { arch: audit, nr, args });
      assert.equal(run(numbers.read), ALLOW);
      for (const nr of [numbers.mount, numbers.ptrace, numbers.unshare, numbers.bpf]) assert.equal(run(nr), EPERM, `syscall ${nr}`);
      assert.equal(run(numbers.ioctl, [1, 0x5412]), EPERM, "TIOCSTI");
      assert.equal(run(numbers.ioctl, [1, 0x5401]), ALLOW, "TCGETS");
      assert.equal(run(numbers.clone, [0x10000000 | 0x11]), EPERM, "clone(CLONE_NEWUSER)");
      assert.equal(run(numbers.clone, [0x01200011]), ALLOW, "fork-like clone");
      assert.equal(run(numbers.clone3), ENOSYS);
      assert.equal(verdict(program, { arch: 0x40000003, nr: numbers.read }), KILL, "another architecture's calls");
    });
  }

  it("denies x32 calls on x86_64 and has no program for an unknown architecture", () => {
    const program = seccompProgram("x64");
    assert.ok(program);
    assert.equal(verdict(program, { arch: 0xc000003e, nr: 0x40000000 }), EPERM);
    assert.equal(seccompProgram("mips"), undefined);
  });
});
