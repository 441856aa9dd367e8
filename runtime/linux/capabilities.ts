/**
 * Linux capabilities of a container's process: the names the OCI spec uses,
 * validation, and the calls that set them on the calling thread.
 *
 * Capabilities, like uids and seccomp filters, belong to a thread, not to a
 * process. Deno runs several threads, so everything here acts on the thread
 * that calls it: the init's main thread, which is also the one that later
 * calls execve (the kernel then discards the other threads and the new
 * program starts from the main thread's credentials).
 *
 * ## Order of operations when the init also switches user
 *
 * {@link applyProcessCredentials} does, starting as uid 0 with every
 * capability:
 *
 * 1. Drop the bounding set (PR_CAPBSET_DROP). It needs CAP_SETPCAP in the
 *    effective set, which a switch away from uid 0 clears, so it goes first.
 *    It does not touch the effective set, so CAP_SETGID/CAP_SETUID stay
 *    usable for step 3 even when the container's bounding set lacks them.
 * 2. prctl(PR_SET_KEEPCAPS, 1): without it, leaving uid 0 empties the
 *    permitted set too, and step 5 could not grant anything back.
 * 3. setgroups, setresgid (need CAP_SETGID), then setresuid (needs
 *    CAP_SETUID, and ends our right to change the other two).
 * 4. prctl(PR_SET_KEEPCAPS, 0), so the container's own setuid() calls behave
 *    normally.
 * 5. capset() the effective, permitted and inheritable sets from what step 2
 *    kept, then clear and raise the ambient set (ambient caps must be in the
 *    permitted and inheritable sets, hence last). The new inheritable set
 *    must lie within the bounding set of step 1: the kernel refuses to add an
 *    inheritable capability that is outside it.
 *
 * After execve, a uid-0 process gets permitted = effective = bounding ∪
 * inheritable (its file capabilities count as "all"), while any other uid
 * keeps only its ambient set: the bounding set is what limits root, the
 * ambient set is what gives a non-root user anything.
 */
import type { Capabilities } from "../spec/types.ts";
import {
  check,
  Errno,
  errno,
  PR,
  prctl,
  prctlRaw,
  setgroups,
  setresgid,
  setresuid,
  SYS,
  sys,
} from "./libc.ts";

const NAMES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/** Every capability berth knows, name → number, in numeric order. */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(NAMES.map((name, i) => [name, i])),
);

/** The capability sets of the OCI spec, in the order errors report them. */
export const CAPABILITY_SETS = [
  "bounding",
  "effective",
  "inheritable",
  "permitted",
  "ambient",
] as const;
export type CapabilitySet = typeof CAPABILITY_SETS[number];

/** The number of a capability given as "CAP_X"; throws on an unknown name. */
export function capabilityNumber(name: string): number {
  if (!Object.hasOwn(CAPABILITIES, name)) throw new Error(`unknown capability "${name}"`);
  return CAPABILITIES[name];
}

/** The name of capability `n` ("CAP_<n>" for one newer than this table). */
export function capabilityName(n: number): string {
  return NAMES[n] ?? `CAP_${n}`;
}

let cachedLastCap: number | undefined;

/**
 * The highest capability number the running kernel knows (what
 * /proc/sys/kernel/cap_last_cap says), found with PR_CAPBSET_READ, which
 * fails with EINVAL past it. Asking the kernel rather than reading the file
 * keeps this right in an init after pivot_root, where /proc/sys/... is
 * whatever the container's rootfs holds: a forged small value there would
 * leave capabilities in the bounding set.
 */
export function lastCap(): number {
  if (cachedLastCap !== undefined) return cachedLastCap;
  const known = (n: number) => prctlRaw(PR.CAPBSET_READ, n) !== -1;
  let n = NAMES.length - 1;
  if (known(n)) { while (n < 63 && known(n + 1)) n++; }
  else while (n > 0 && !known(n)) n--;
  return cachedLastCap = n;
}

/**
 * Checks every name in every set. An unknown name is an error that names the
 * set; a known capability the running kernel lacks (past cap_last_cap) is
 * not an error, as in runc: it is left out when the sets are applied, and
 * returned here so the caller can warn.
 */
export function validateCapabilities(caps: Capabilities, kernelLastCap = lastCap()): string[] {
  const ignored = new Set<string>();
  for (const set of CAPABILITY_SETS) {
    const list: unknown = caps[set];
    if (list === undefined) continue;
    const field = `process.capabilities.${set}`;
    if (!Array.isArray(list)) throw new Error(`${field}: must be an array of capability names`);
    for (const name of list) {
      if (typeof name !== "string" || !Object.hasOwn(CAPABILITIES, name)) {
        throw new Error(`${field}: unknown capability ${JSON.stringify(name)}`);
      }
      if (CAPABILITIES[name] > kernelLastCap) ignored.add(name);
    }
  }
  return [...ignored];
}

/** The bit mask of `names`, leaving out capabilities past `upTo`. */
export function capabilityMask(names: readonly string[] = [], upTo = lastCap()): bigint {
  let mask = 0n;
  for (const name of names) {
    const n = capabilityNumber(name);
    if (n <= upTo) mask |= 1n << BigInt(n);
  }
  return mask;
}

/** The names of the bits set in `mask` (as in /proc/PID/status Cap* lines). */
export function capabilityNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let n = 0; n < 64; n++) if (mask & (1n << BigInt(n))) out.push(capabilityName(n));
  return out;
}

const CAP_V3 = 0x20080522;
const PR_CAP_AMBIENT_IS_SET = 1;

interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

// Both buffers of a capget/capset stay referenced by the caller's locals for
// the whole (synchronous) call, so their addresses stay valid.

/** capget() of the calling thread (pid 0 in the header means "this thread"). */
function capget(): CapSets {
  const header = new Uint32Array([CAP_V3, 0]);
  // Two __user_cap_data_struct {effective, permitted, inheritable}: low and high 32 bits.
  const data = new Uint32Array(6);
  check(sys(SYS.capget, header, data), "capget");
  const join = (i: number) => BigInt(data[i]) | (BigInt(data[i + 3]) << 32n);
  return { effective: join(0), permitted: join(1), inheritable: join(2) };
}

function capset(sets: CapSets): void {
  const header = new Uint32Array([CAP_V3, 0]);
  const data = new Uint32Array(6);
  [sets.effective, sets.permitted, sets.inheritable].forEach((mask, i) => {
    data[i] = Number(mask & 0xffffffffn);
    data[i + 3] = Number(mask >> 32n);
  });
  check(sys(SYS.capset, header, data), "capset");
}

function inBoundingSet(n: number): boolean {
  return prctlRaw(PR.CAPBSET_READ, n) === 1;
}

function boundingMask(last: number): bigint {
  let mask = 0n;
  for (let n = 0; n <= last; n++) if (inBoundingSet(n)) mask |= 1n << BigInt(n);
  return mask;
}

/**
 * Drops from the calling thread's bounding set every capability not in
 * `keep`, up to cap_last_cap. Capabilities already gone are skipped, so a
 * thread without CAP_SETPCAP can still "drop" what it no longer has.
 */
export function dropBoundingSet(keep: readonly string[]): void {
  const last = lastCap();
  const mask = capabilityMask(keep, last);
  for (let n = 0; n <= last; n++) {
    if (mask & (1n << BigInt(n)) || !inBoundingSet(n)) continue;
    if (prctlRaw(PR.CAPBSET_DROP, n) === -1) {
      const code = errno();
      const hint = code === 1 ? " (dropping from the bounding set needs CAP_SETPCAP)" : "";
      throw new Errno("prctl(PR_CAPBSET_DROP)", code, capabilityName(n) + hint);
    }
  }
}

/**
 * Sets the calling thread's effective, permitted and inheritable sets
 * (capset v3), then makes the ambient set exactly `caps.ambient`. The
 * bounding set is not touched: see {@link dropBoundingSet}. An absent set
 * counts as empty. Effective outside permitted throws before anything
 * changes; ambient capabilities outside permitted ∩ inheritable are skipped
 * and returned.
 */
export function setCapabilities(caps: Capabilities): string[] {
  const last = lastCap();
  const effective = capabilityMask(caps.effective, last);
  const permitted = capabilityMask(caps.permitted, last);
  const inheritable = capabilityMask(caps.inheritable, last);
  const ambient = capabilityMask(caps.ambient, last);
  const outside = (what: bigint, within: bigint) => capabilityNames(what & ~within);
  const notPermitted = outside(effective, permitted);
  if (notPermitted.length) {
    throw new Error(
      `process.capabilities.effective: ${notPermitted.join(", ")} must also be in permitted`,
    );
  }
  // The kernel can only raise an ambient capability that is permitted and
  // inheritable. Configs written by `runc spec` (and runc itself) list
  // ambient capabilities without inheritable ones and still run: those are
  // skipped, as with runc, and returned to the caller.
  const skippedAmbient = outside(ambient, permitted & inheritable);
  const raisable = ambient & permitted & inheritable;
  try {
    capset({ effective, permitted, inheritable });
  } catch (e) {
    if (!(e instanceof Errno) || e.code !== 1) throw e;
    // EPERM: say which of the kernel's two rules was broken.
    const old = capget();
    const gained = outside(permitted, old.permitted);
    const unbounded = outside(inheritable, old.inheritable | boundingMask(last));
    const why = gained.length
      ? `(permitted would gain ${gained.join(", ")}, which this thread does not hold)`
      : unbounded.length
      ? `(inheritable ${unbounded.join(", ")} not in the bounding set)`
      : "";
    throw new Errno("capset", e.code, why);
  }
  if (prctlRaw(PR.CAP_AMBIENT, PR.CAP_AMBIENT_CLEAR_ALL) === -1) {
    // Kernels before 4.3 have no ambient set: only an error if one was asked for.
    if (raisable !== 0n) throw new Errno("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno());
    return skippedAmbient;
  }
  for (const name of capabilityNames(raisable)) {
    check(
      prctlRaw(PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, capabilityNumber(name)),
      "prctl(PR_CAP_AMBIENT_RAISE)",
      name,
    );
  }
  return skippedAmbient;
}

/**
 * The calling thread's capability sets, by name: effective, permitted and
 * inheritable from capget(), bounding and ambient from prctl().
 */
export function currentCapabilities(): Required<Capabilities> {
  const sets = capget();
  const last = lastCap();
  const ambient: string[] = [];
  for (let n = 0; n <= last; n++) {
    const set = prctlRaw(PR.CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, n);
    if (set === 1) ambient.push(capabilityName(n));
  }
  return {
    bounding: capabilityNames(boundingMask(last)),
    effective: capabilityNames(sets.effective),
    inheritable: capabilityNames(sets.inheritable),
    permitted: capabilityNames(sets.permitted),
    ambient,
  };
}

/** What {@link applyProcessCredentials} turns the calling thread into. */
export interface ProcessCredentials {
  uid: number;
  gid: number;
  additionalGids: number[];
  capabilities: Capabilities;
}

/**
 * Switches to the container's user and capabilities, in the order explained
 * at the top of this module. The ids change for every thread (glibc
 * broadcasts set*id calls), the capabilities for the calling thread only.
 * Needs uid 0 with CAP_SETPCAP, CAP_SETUID and CAP_SETGID in the effective
 * set. Unknown capability names throw; ones the kernel lacks are left out.
 */
export function applyProcessCredentials(cred: ProcessCredentials): void {
  const caps = cred.capabilities;
  dropBoundingSet(caps.bounding ?? []);
  prctl(PR.SET_KEEPCAPS, 1);
  setgroups(cred.additionalGids);
  setresgid(cred.gid);
  setresuid(cred.uid);
  prctl(PR.SET_KEEPCAPS, 0);
  setCapabilities(caps);
}
