/**
 * Device rules on cgroup v2: the kernel has no devices.allow there; a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup decides every
 * open/mknod of a device node (return 1 = allow, 0 = deny). This module
 * assembles that program from a {@link DevicePolicy} and loads and attaches
 * it with the bpf(2) system call, through the shared libc binding.
 */

import { close, cstr, Errno, errno, O, open, SYS, sys } from "../linux/libc.ts";
import { ANY, type DevicePolicy } from "./devices.ts";

const BPF = {
  PROG_LOAD: 5,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_GET_FD_BY_ID: 13,
  PROG_QUERY: 16,
} as const;
const PROG_TYPE_CGROUP_DEVICE = 15;
const ATTACH_CGROUP_DEVICE = 6;
const F_ALLOW_MULTI = 2;
const F_REPLACE = 4;

// Instruction opcodes (class | op | source).
const LDX_W = 0x61; // dst = *(u32 *)(src + off)
const AND_K = 0x57; // dst &= imm (64-bit)
const RSH_K = 0x77; // dst >>= imm
const MOV_K = 0xb7; // dst = imm
const MOV_X = 0xbf; // dst = src
const JNE_K = 0x55; // if dst != imm goto pc + 1 + off
const JEQ_K = 0x15; // if dst == imm goto pc + 1 + off
const EXIT = 0x95;

type Insn = [code: number, dst: number, src: number, off: number, imm: number];

/** The device type numbers of struct bpf_cgroup_dev_ctx (BPF_DEVCG_DEV_*). */
const DEV_TYPE = { b: 1, c: 2 } as const;

/**
 * The program for `policy`. Registers after the prologue: r2 = device type,
 * r3 = requested access bits, r4 = major, r5 = minor. Then one block per
 * exception that jumps to the next block on any mismatch and otherwise
 * returns the exception's verdict; the last instructions return the default.
 */
export function assemble(policy: DevicePolicy): Insn[] {
  const prog: Insn[] = [
    [LDX_W, 2, 1, 0, 0],
    [AND_K, 2, 0, 0, 0xffff],
    [LDX_W, 3, 1, 0, 0],
    [RSH_K, 3, 0, 0, 16],
    [LDX_W, 4, 1, 4, 0],
    [LDX_W, 5, 1, 8, 0],
  ];
  const verdict = policy.defaultAllow ? 0 : 1; // exceptions go against the default
  for (const ex of policy.exceptions.values()) {
    // `away` marks the tests that jump to the next block on a mismatch.
    const block: { ins: Insn; away?: boolean }[] = [];
    const away = (code: number, reg: number, imm: number) =>
      block.push({ ins: [code, reg, 0, 0, imm], away: true });
    away(JNE_K, 2, DEV_TYPE[ex.type]);
    if (ex.access !== 7) {
      // Allow exception: every requested bit must be granted (the kernel's
      // whole match). Deny exception: one denied bit requested is enough
      // (its partial match).
      block.push({ ins: [MOV_X, 1, 3, 0, 0] });
      if (policy.defaultAllow) {
        block.push({ ins: [AND_K, 1, 0, 0, ex.access] });
        away(JEQ_K, 1, 0);
      } else {
        block.push({ ins: [AND_K, 1, 0, 0, ~ex.access & 7] });
        away(JNE_K, 1, 0);
      }
    }
    if (ex.major !== ANY) away(JNE_K, 4, ex.major);
    if (ex.minor !== ANY) away(JNE_K, 5, ex.minor);
    block.push({ ins: [MOV_K, 0, 0, 0, verdict] }, { ins: [EXIT, 0, 0, 0, 0] });
    block.forEach(({ ins, away }, i) => {
      prog.push(away ? [ins[0], ins[1], 0, block.length - i - 1, ins[4]] : ins);
    });
  }
  prog.push([MOV_K, 0, 0, 0, policy.defaultAllow ? 1 : 0], [EXIT, 0, 0, 0, 0]);
  return prog;
}

function encode(prog: Insn[]): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(prog.length * 8);
  const view = new DataView(buf.buffer);
  prog.forEach(([code, dst, src, off, imm], i) => {
    view.setUint8(i * 8, code);
    view.setUint8(i * 8 + 1, (src << 4) | dst);
    view.setInt16(i * 8 + 2, off, true);
    view.setInt32(i * 8 + 4, imm, true);
  });
  return buf;
}

const ptr = (b: ArrayBufferView) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));

function bpf(cmd: number, attr: Uint8Array<ArrayBuffer>, what: string): number {
  const r = sys(SYS.bpf, cmd, attr, attr.length);
  if (r === -1n) throw new Errno("bpf", errno(), what);
  return Number(r);
}

/** Loads the program; returns its fd. The verifier's log is in the error on rejection. */
function load(prog: Insn[]): number {
  const insns = encode(prog);
  const license = cstr("Apache-2.0");
  const log = new Uint8Array(64 * 1024);
  const attr = new Uint8Array(128);
  const v = new DataView(attr.buffer);
  v.setUint32(0, PROG_TYPE_CGROUP_DEVICE, true);
  v.setUint32(4, prog.length, true);
  v.setBigUint64(8, ptr(insns), true);
  v.setBigUint64(16, ptr(license), true);
  v.setUint32(24, 1, true); // log_level
  v.setUint32(28, log.length, true);
  v.setBigUint64(32, ptr(log), true);
  attr.set(new TextEncoder().encode("berth_dev"), 48); // prog_name, for bpftool
  v.setUint32(68, ATTACH_CGROUP_DEVICE, true); // expected_attach_type
  try {
    return bpf(BPF.PROG_LOAD, attr, "BPF_PROG_LOAD (device filter)");
  } catch (e) {
    const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0))).trim();
    if (text) (e as Error).message += `\nverifier log:\n${text}`;
    throw e;
  }
}

/** Ids of the device programs attached directly to the cgroup `dir`. */
export function attachedDeviceFilters(dir: string): number[] {
  const cg = open(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  try {
    return query(cg);
  } finally {
    close(cg);
  }
}

function query(cgroupFd: number): number[] {
  const ids = new Uint32Array(64);
  const attr = new Uint8Array(40);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cgroupFd, true);
  v.setUint32(4, ATTACH_CGROUP_DEVICE, true);
  v.setBigUint64(16, ptr(ids), true);
  v.setUint32(24, ids.length, true);
  bpf(BPF.PROG_QUERY, attr, "BPF_PROG_QUERY");
  return [...ids.subarray(0, v.getUint32(24, true))];
}

function progFdById(id: number): number {
  const attr = new Uint8Array(12);
  new DataView(attr.buffer).setUint32(0, id, true);
  return bpf(BPF.PROG_GET_FD_BY_ID, attr, `BPF_PROG_GET_FD_BY_ID ${id}`);
}

function attachAttr(cgroupFd: number, progFd: number, flags: number, replaceFd = 0) {
  const attr = new Uint8Array(20);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cgroupFd, true);
  v.setUint32(4, progFd, true);
  v.setUint32(8, ATTACH_CGROUP_DEVICE, true);
  v.setUint32(12, flags, true);
  v.setUint32(16, replaceFd, true);
  return attr;
}

/**
 * Makes `policy` the device filter of the cgroup `dir`, replacing any
 * program attached there before (`runc update` sets the rules again).
 * Programs are attached with BPF_F_ALLOW_MULTI, so filters of ancestors
 * (systemd's) keep applying too and a nested runtime can add its own.
 */
export function setDeviceFilter(dir: string, policy: DevicePolicy): void {
  const cg = open(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  const fds: number[] = [];
  try {
    const old = query(cg);
    const prog = load(assemble(policy));
    fds.push(prog);
    const oldFds = old.map((id) => {
      const fd = progFdById(id);
      fds.push(fd);
      return fd;
    });
    if (oldFds.length === 1) {
      // Atomic swap: no moment with no filter or with both.
      bpf(
        BPF.PROG_ATTACH,
        attachAttr(cg, prog, F_ALLOW_MULTI | F_REPLACE, oldFds[0]),
        `BPF_PROG_ATTACH (replace) to ${dir}`,
      );
    } else {
      bpf(BPF.PROG_ATTACH, attachAttr(cg, prog, F_ALLOW_MULTI), `BPF_PROG_ATTACH to ${dir}`);
      for (const fd of oldFds) {
        bpf(BPF.PROG_DETACH, attachAttr(cg, fd, 0), `BPF_PROG_DETACH from ${dir}`);
      }
    }
  } finally {
    // The cgroup holds a reference to the attached program; ours can go.
    for (const fd of fds) close(fd);
    close(cg);
  }
}
