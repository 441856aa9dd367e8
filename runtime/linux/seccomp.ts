/**
 * The container's seccomp filter (linux.seccomp), built and loaded with
 * libseccomp through FFI, the way runc does with libseccomp-golang.
 *
 * A filter belongs to the thread that loads it (and to threads and programs
 * it later starts), so {@link loadSeccomp} must run on the init's main
 * thread, the one that calls execve, and as late as possible: from then on
 * the filter also judges the init's own system calls.
 *
 * No-new-privileges is the caller's decision (process.noNewPrivileges):
 * libseccomp would set it on load by default, which is turned off here. A
 * thread without no_new_privs may load a filter only while it holds
 * CAP_SYS_ADMIN, so without noNewPrivileges the init loads the filter
 * before dropping capabilities (and the filter must then allow the calls
 * that drop them); with it, after.
 *
 * libseccomp is opened on first use. An init must call
 * {@link openLibseccomp} before pivot_root: afterwards dlopen would search
 * the container's filesystem and could load the container's own library.
 */
import type { Seccomp } from "../spec/types.ts";
import { cstr, Errno } from "./libc.ts";

const LIBRARY = "libseccomp.so.2";

const symbols = {
  seccomp_version: { parameters: [], result: "pointer" },
  seccomp_init: { parameters: ["u32"], result: "pointer" },
  seccomp_release: { parameters: ["pointer"], result: "void" },
  seccomp_attr_set: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  seccomp_arch_add: { parameters: ["pointer", "u32"], result: "i32" },
  seccomp_arch_resolve_name: { parameters: ["buffer"], result: "u32" },
  seccomp_syscall_resolve_name: { parameters: ["buffer"], result: "i32" },
  seccomp_rule_add_array: {
    parameters: ["pointer", "u32", "i32", "u32", "buffer"],
    result: "i32",
  },
  seccomp_load: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Lib = Deno.DynamicLibrary<typeof symbols>["symbols"];
let lib: Lib | undefined;

/**
 * Opens libseccomp (once). Throws a clear error when it is not installed;
 * `name` is there for tests.
 */
export function openLibseccomp(name = LIBRARY): Lib {
  if (lib && name === LIBRARY) return lib;
  try {
    const symbolsOf = Deno.dlopen(name, symbols).symbols;
    if (name === LIBRARY) lib = symbolsOf;
    return symbolsOf;
  } catch (e) {
    throw new Error(
      `seccomp: ${name} is not installed (install libseccomp2) but linux.seccomp is set` +
        ` (${(e as Error).message})`,
    );
  }
}

/** libseccomp's version, e.g. "2.5.4". */
export function libseccompVersion(): string {
  const v = new Deno.UnsafePointerView(openLibseccomp().seccomp_version()!);
  return `${v.getUint32(0)}.${v.getUint32(4)}.${v.getUint32(8)}`;
}

// ---- the spec's vocabulary ----------------------------------------------------

// Action values of seccomp.h; ERRNO and TRACE carry a 16-bit return value.
const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: 0x00000000, // = KILL_THREAD, as in libseccomp and runc
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};
const WITH_RET = new Set(["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"]);
const EPERM = 1;

// The OCI names; libseccomp's own name for each is the lowercase suffix.
const ARCHES = new Set([
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
]);

// enum scmp_compare.
const OPS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

// enum scmp_filter_attr.
const ATTR = { CTL_NNP: 3, CTL_TSYNC: 4, CTL_LOG: 6, CTL_SSB: 7, API_SYSRAWRC: 9 } as const;

// Filter flags → the libseccomp attribute that makes it pass the flag to seccomp(2).
const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: ATTR.CTL_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: ATTR.CTL_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: ATTR.CTL_SSB,
};

// ---- validation ---------------------------------------------------------------

const FIELD = "linux.seccomp";

function fail(field: string, problem: string): never {
  throw new Error(`${field}: ${problem}`);
}

function action(field: string, name: unknown, ret: unknown, retField: string): number {
  if (name === "SCMP_ACT_NOTIFY") {
    fail(field, "SCMP_ACT_NOTIFY is not supported (berth has no seccomp notify listener)");
  }
  if (typeof name !== "string" || !Object.hasOwn(ACTIONS, name)) {
    fail(field, `unknown action ${JSON.stringify(name)}`);
  }
  if (ret === undefined) return WITH_RET.has(name) ? ACTIONS[name] | EPERM : ACTIONS[name];
  if (!WITH_RET.has(name)) fail(retField, `is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE`);
  if (typeof ret !== "number" || !Number.isInteger(ret) || ret < 0 || ret > 0xffff) {
    fail(retField, `must be an integer from 0 to 65535, got ${JSON.stringify(ret)}`);
  }
  return (ACTIONS[name] | ret) >>> 0;
}

function uint64(field: string, v: unknown): bigint {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 2 ** 64) {
    fail(field, `must be an unsigned 64-bit integer, got ${JSON.stringify(v)}`);
  }
  return BigInt(v);
}

interface Rule {
  field: string;
  names: string[];
  action: number;
  /** (arg, op, datum_a, datum_b) */
  args: [number, number, bigint, bigint][];
}

interface Filter {
  defaultAction: number;
  arches: string[];
  attrs: number[];
  rules: Rule[];
}

/** Checks linux.seccomp and turns it into libseccomp's numbers. */
function compile(spec: Seccomp): Filter {
  if (typeof spec !== "object" || spec === null) fail(FIELD, "must be an object");
  const defaultAction = action(
    `${FIELD}.defaultAction`,
    spec.defaultAction,
    spec.defaultErrnoRet,
    `${FIELD}.defaultErrnoRet`,
  );
  if (spec.listenerPath !== undefined) {
    fail(`${FIELD}.listenerPath`, "is not supported (berth has no seccomp notify listener)");
  }
  if (spec.listenerMetadata !== undefined) {
    fail(`${FIELD}.listenerMetadata`, "is not supported (berth has no seccomp notify listener)");
  }
  const list = (field: string, v: unknown): unknown[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) fail(field, "must be an array");
    return v;
  };
  const arches = list(`${FIELD}.architectures`, spec.architectures).map((a, i) => {
    if (typeof a !== "string" || !ARCHES.has(a)) {
      fail(`${FIELD}.architectures[${i}]`, `unknown architecture ${JSON.stringify(a)}`);
    }
    return a;
  });
  const attrs = list(`${FIELD}.flags`, spec.flags).map((f, i) => {
    const field = `${FIELD}.flags[${i}]`;
    if (f === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
      fail(field, `${f} is not supported (it is for SCMP_ACT_NOTIFY, which berth lacks)`);
    }
    if (typeof f !== "string" || !Object.hasOwn(FLAGS, f)) {
      fail(field, `unknown flag ${JSON.stringify(f)}`);
    }
    return FLAGS[f];
  });
  const rules = list(`${FIELD}.syscalls`, spec.syscalls).map((s, i): Rule => {
    const field = `${FIELD}.syscalls[${i}]`;
    if (typeof s !== "object" || s === null) fail(field, "must be an object");
    const sc = s as Record<string, unknown>;
    const names = list(`${field}.names`, sc.names);
    if (names.length === 0) fail(`${field}.names`, "must name at least one system call");
    names.forEach((n, j) => {
      if (typeof n !== "string" || n === "") {
        fail(`${field}.names[${j}]`, `must be a system call name, got ${JSON.stringify(n)}`);
      }
    });
    const act = action(`${field}.action`, sc.action, sc.errnoRet, `${field}.errnoRet`);
    const args = list(`${field}.args`, sc.args).map((a, j): Rule["args"][number] => {
      const f = `${field}.args[${j}]`;
      if (typeof a !== "object" || a === null) fail(f, "must be an object");
      const arg = a as Record<string, unknown>;
      if (
        typeof arg.index !== "number" || !Number.isInteger(arg.index) || arg.index < 0 ||
        arg.index > 5
      ) {
        fail(
          `${f}.index`,
          `must be an argument index from 0 to 5, got ${JSON.stringify(arg.index)}`,
        );
      }
      if (typeof arg.op !== "string" || !Object.hasOwn(OPS, arg.op)) {
        fail(`${f}.op`, `unknown operator ${JSON.stringify(arg.op)}`);
      }
      const value = uint64(`${f}.value`, arg.value);
      const valueTwo = arg.valueTwo === undefined ? 0n : uint64(`${f}.valueTwo`, arg.valueTwo);
      // Only MASKED_EQ uses the second datum ((arg & value) == valueTwo); runc ignores it elsewhere.
      return [arg.index, OPS[arg.op], value, arg.op === "SCMP_CMP_MASKED_EQ" ? valueTwo : 0n];
    });
    return { field, names: names as string[], action: act, args };
  });
  return { defaultAction, arches, attrs, rules };
}

/**
 * Checks linux.seccomp without loading anything: actions, architectures,
 * argument operators, flags, errno values. Errors name the field, e.g.
 * `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
 * SCMP_ACT_NOTIFY and the listener fields are refused (not implemented).
 * Whether libseccomp knows each architecture is checked at load.
 */
export function validateSeccomp(spec: Seccomp): void {
  compile(spec);
}

// ---- loading ------------------------------------------------------------------

const SCMP_ERROR = -1; // __NR_SCMP_ERROR: a name libseccomp does not know
const EEXIST = 17;
const EACCES = 13;

/** What {@link loadSeccomp} left out. */
export interface SeccompLoadResult {
  /** System call names libseccomp does not know, skipped as runc does. */
  unknownSyscalls: string[];
}

/**
 * Builds the filter of `spec` and installs it on the calling thread. Does
 * not set no_new_privs (see the module comment: without it the thread needs
 * CAP_SYS_ADMIN now). Unknown system call names are skipped; rules whose
 * action is the default action are left out, as libseccomp refuses them and
 * they change nothing.
 */
export function loadSeccomp(spec: Seccomp): SeccompLoadResult {
  const filter = compile(spec);
  const s = openLibseccomp();
  const ctx = s.seccomp_init(filter.defaultAction);
  if (ctx === null) {
    throw new Error(`seccomp_init: libseccomp refused default action ${spec.defaultAction}`);
  }
  // libseccomp returns -errno.
  const call = (rc: number, what: string, detail = "") => {
    if (rc < 0) throw new Errno(what, -rc, detail);
  };
  const unknownSyscalls: string[] = [];
  try {
    // Raw kernel errors from seccomp_load (else every failure reads ECANCELED).
    s.seccomp_attr_set(ctx, ATTR.API_SYSRAWRC, 1);
    call(s.seccomp_attr_set(ctx, ATTR.CTL_NNP, 0), "seccomp_attr_set", "SCMP_FLTATR_CTL_NNP");
    for (const attr of filter.attrs) {
      call(s.seccomp_attr_set(ctx, attr, 1), "seccomp_attr_set", `${FIELD}.flags`);
    }
    filter.arches.forEach((name, i) => {
      const arch = s.seccomp_arch_resolve_name(cstr(name.slice("SCMP_ARCH_".length).toLowerCase()));
      if (arch === 0) {
        fail(
          `${FIELD}.architectures[${i}]`,
          `${name} is not supported by libseccomp ${libseccompVersion()}`,
        );
      }
      const rc = s.seccomp_arch_add(ctx, arch);
      if (rc !== -EEXIST) call(rc, "seccomp_arch_add", name); // the native one is always there
    });
    for (const rule of filter.rules) {
      if (rule.action === filter.defaultAction) continue;
      // Two conditions on one argument cannot be ANDed in one libseccomp rule: like
      // runc, make each condition a rule of its own (ORed) then.
      const indexes = rule.args.map(([index]) => index);
      const groups = new Set(indexes).size === indexes.length
        ? [rule.args]
        : rule.args.map((a) => [a]);
      for (const name of rule.names) {
        const nr = s.seccomp_syscall_resolve_name(cstr(name));
        if (nr === SCMP_ERROR) {
          unknownSyscalls.push(name);
          continue;
        }
        for (const group of groups) {
          // struct scmp_arg_cmp { u32 arg; u32 op; u64 datum_a; u64 datum_b; }
          const buf = new ArrayBuffer(24 * group.length);
          const view = new DataView(buf);
          group.forEach(([index, op, a, b], k) => {
            view.setUint32(24 * k, index, true);
            view.setUint32(24 * k + 4, op, true);
            view.setBigUint64(24 * k + 8, a, true);
            view.setBigUint64(24 * k + 16, b, true);
          });
          call(
            s.seccomp_rule_add_array(ctx, rule.action, nr, group.length, new Uint8Array(buf)),
            "seccomp_rule_add",
            `${name} (${rule.field})`,
          );
        }
      }
    }
    const rc = s.seccomp_load(ctx);
    if (rc === -EACCES) {
      throw new Errno(
        "seccomp_load",
        EACCES,
        "(without no_new_privs, loading a filter needs CAP_SYS_ADMIN)",
      );
    }
    call(rc, "seccomp_load");
  } finally {
    s.seccomp_release(ctx);
  }
  return { unknownSyscalls };
}
