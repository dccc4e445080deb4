/**
 * The seccomp filter every sandboxed service gets, as the compiled classic-BPF program bubblewrap
 * loads with `--seccomp FD`. It is a deny list in the manner of Flatpak's: the calls that reach
 * past a sandbox (mounting, namespaces, modules, tracing other processes, kernel keyrings, BPF,
 * the clock, rebooting) fail with EPERM, and TIOCSTI cannot push input into a terminal. Everything
 * else is allowed, so ordinary programs run unchanged. Written here because no maintained Node
 * binding of libseccomp exists; the program is small enough to check by reading.
 */

/** The syscalls denied, by name, for the architectures ghostd knows. */
const DENIED = [
  "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
  "unshare", "setns", "swapon", "swapoff", "reboot", "sethostname", "setdomainname", "iopl", "ioperm",
  "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "quotactl", "acct",
  "settimeofday", "adjtimex", "clock_settime", "clock_adjtime", "syslog", "ptrace", "process_vm_readv", "process_vm_writev",
  "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "open_by_handle_at", "name_to_handle_at",
  "lookup_dcookie", "vhangup", "nfsservctl", "kcmp", "fanotify_init", "create_module", "uselib", "_sysctl",
] as const;

type Syscall = (typeof DENIED)[number] | "ioctl" | "clone" | "clone3";

interface Architecture {
  /** AUDIT_ARCH_* as seccomp_data.arch reports it. */
  readonly audit: number;
  /** Syscall numbers from this value up belong to another ABI on the same machine (x32). */
  readonly foreignFrom?: number;
  readonly numbers: Partial<Record<Syscall, number>>;
}

const X86_64: Architecture = {
  audit: 0xc000003e,
  foreignFrom: 0x40000000,
  numbers: {
    ioctl: 16, clone: 56, clone3: 435, ptrace: 101, syslog: 103, uselib: 134, vhangup: 153, pivot_root: 155, _sysctl: 156, adjtimex: 159, acct: 163,
    settimeofday: 164, mount: 165, umount2: 166, swapon: 167, swapoff: 168, reboot: 169, sethostname: 170, setdomainname: 171,
    iopl: 172, ioperm: 173, create_module: 174, init_module: 175, delete_module: 176, quotactl: 179, nfsservctl: 180,
    lookup_dcookie: 212, clock_settime: 227, kexec_load: 246, add_key: 248, request_key: 249, keyctl: 250, unshare: 272,
    perf_event_open: 298, fanotify_init: 300, name_to_handle_at: 303, open_by_handle_at: 304, clock_adjtime: 305, setns: 308,
    process_vm_readv: 310, process_vm_writev: 311, kcmp: 312, finit_module: 313, kexec_file_load: 320, bpf: 321, userfaultfd: 323,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
  },
};

const AARCH64: Architecture = {
  audit: 0xc00000b7,
  numbers: {
    lookup_dcookie: 18, ioctl: 29, clone: 220, clone3: 435, umount2: 39, mount: 40, pivot_root: 41, nfsservctl: 42, vhangup: 58, quotactl: 60, acct: 89,
    unshare: 97, kexec_load: 104, init_module: 105, delete_module: 106, clock_settime: 112, syslog: 116, ptrace: 117, reboot: 142,
    sethostname: 161, setdomainname: 162, settimeofday: 170, adjtimex: 171, add_key: 217, request_key: 218, keyctl: 219,
    swapon: 224, swapoff: 225, perf_event_open: 241, fanotify_init: 262, name_to_handle_at: 264, open_by_handle_at: 265,
    clock_adjtime: 266, setns: 268, process_vm_readv: 270, process_vm_writev: 271, kcmp: 272, finit_module: 273, bpf: 280,
    userfaultfd: 282, kexec_file_load: 294, open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433,
    mount_setattr: 442,
  },
};

const ARCHITECTURES: Readonly<Record<string, Architecture>> = { x64: X86_64, arm64: AARCH64 };

/** Terminal ioctls that inject input or reach the console: TIOCSTI, TIOCLINUX. */
const DENIED_IOCTLS = [0x5412, 0x541c];

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_EPERM = 0x00050000 | 1;
const RET_ENOSYS = 0x00050000 | 38;
/** clone's flag for a new user namespace: a service makes none (unshare and setns are denied outright). */
const CLONE_NEWUSER = 0x10000000;
/** Offsets in struct seccomp_data: nr, arch, then args[] (the low word of args[1] on little-endian). */
const NR = 0;
const ARCH = 4;
const ARG0_LOW = 16;
const ARG1_LOW = 24;

/** One instruction; `to` names the label a taken jump goes to. */
type Label = "deny" | "ioctl" | "clone" | "enosys";
type Instruction = { code: number; k: number; to?: Label | "next-but-one"; label?: Label };

/** The program for the architecture Node runs on, or undefined where ghostd has no syscall table. */
export function seccompProgram(arch: string = process.arch): Buffer | undefined {
  const table = ARCHITECTURES[arch];
  return table ? assemble(instructions(table)) : undefined;
}

function instructions(table: Architecture): Instruction[] {
  const denied = DENIED.flatMap((name) => (table.numbers[name] === undefined ? [] : [table.numbers[name]]));
  return [
    { code: LD_W_ABS, k: ARCH },
    // Another architecture's calls (i386 on x86_64) have other numbers: nothing of it may run.
    { code: JEQ_K, k: table.audit, to: "next-but-one" },
    { code: RET_K, k: RET_KILL_PROCESS },
    { code: LD_W_ABS, k: NR },
    ...(table.foreignFrom === undefined ? [] : [{ code: JGE_K, k: table.foreignFrom, to: "deny" as const }]),
    ...denied.map((nr) => ({ code: JEQ_K, k: nr, to: "deny" as const })),
    { code: JEQ_K, k: table.numbers.ioctl ?? 0, to: "ioctl" },
    { code: JEQ_K, k: table.numbers.clone ?? 0, to: "clone" },
    // clone3's flags are behind a pointer a filter cannot read: C libraries fall back to clone.
    { code: JEQ_K, k: table.numbers.clone3 ?? 0, to: "enosys" },
    { code: RET_K, k: RET_ALLOW },
    { code: LD_W_ABS, k: ARG1_LOW, label: "ioctl" },
    ...DENIED_IOCTLS.map((request) => ({ code: JEQ_K, k: request, to: "deny" as const })),
    { code: RET_K, k: RET_ALLOW },
    { code: LD_W_ABS, k: ARG0_LOW, label: "clone" },
    { code: JSET_K, k: CLONE_NEWUSER, to: "deny" },
    { code: RET_K, k: RET_ALLOW },
    { code: RET_K, k: RET_ENOSYS, label: "enosys" },
    { code: RET_K, k: RET_EPERM, label: "deny" },
  ];
}

/** struct sock_filter[]: a taken jump goes `jt` past the next instruction; one not taken falls through. */
function assemble(program: Instruction[]): Buffer {
  const labels = new Map<string, number>(program.flatMap((op, i) => (op.label ? [[op.label, i] as const] : [])));
  const out = Buffer.alloc(program.length * 8);
  program.forEach((op, i) => {
    const target = op.to === "next-but-one" ? i + 2 : op.to === undefined ? i + 1 : labels.get(op.to);
    if (target === undefined) throw new Error(`seccomp program: no label ${String(op.to)}`);
    const jt = target - i - 1;
    if (jt > 255) throw new Error("seccomp program too long for a short jump");
    out.writeUInt16LE(op.code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(0, i * 8 + 3);
    out.writeUInt32LE(op.k >>> 0, i * 8 + 4);
  });
  return out;
}
