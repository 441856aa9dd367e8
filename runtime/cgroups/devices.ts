/**
 * Device access rules, evaluated the way the cgroup v1 devices controller
 * evaluates them, so that v1 (devices.allow/deny) and v2 (an eBPF program)
 * give a container the same access for the same rule list.
 *
 * The kernel keeps a default (allow-all or deny-all) plus a list of
 * exceptions keyed by type/major/minor. A rule of type "a" resets both; any
 * other rule adds access to an exception when it goes against the default
 * and takes access away from one when it agrees with it.
 */

import type { Device, DeviceRule } from "../spec/types.ts";

/** Access bits, as the kernel's BPF_DEVCG_ACC_* values. */
export const ACC = { m: 1, r: 2, w: 4 } as const;
const ALL = 7;

/** Wildcard major or minor. */
export const ANY = -1;

/** One exception: a block or char device (or a range of them) and its access bits. */
export interface DeviceException {
  type: "b" | "c";
  major: number;
  minor: number;
  access: number;
}

/** The effective device policy of a cgroup. */
export class DevicePolicy {
  defaultAllow = false;
  /** Keyed by {@link key}. */
  readonly exceptions = new Map<string, DeviceException>();

  /** Applies one rule with the kernel's v1 semantics. */
  apply(rule: DeviceRule): void {
    const type = rule.type ?? "a";
    if (type === "a") {
      // "a" means every device: the rest of the rule is ignored, as by the kernel.
      this.defaultAllow = rule.allow;
      this.exceptions.clear();
      return;
    }
    if (type !== "b" && type !== "c") {
      throw new Error(`cgroup: devices: invalid device type "${type}" (want a, b or c)`);
    }
    const ex = {
      type,
      major: wildcard(rule.major, "major"),
      minor: wildcard(rule.minor, "minor"),
      access: parseAccess(rule.access),
    };
    if (rule.allow === this.defaultAllow) this.remove(ex);
    else this.add(ex);
  }

  private add(ex: DeviceException): void {
    const k = key(ex);
    const cur = this.exceptions.get(k);
    this.exceptions.set(k, { ...ex, access: (cur?.access ?? 0) | ex.access });
  }

  private remove(ex: DeviceException): void {
    // The kernel removes access from the exception with exactly this key and
    // silently keeps any wider (wildcard) exception that covers the device,
    // which would leave the access the rule meant to remove. Refuse instead.
    for (
      const [major, minor] of [[ANY, ex.minor], [ex.major, ANY], [ANY, ANY]] as const
    ) {
      if (major === ex.major && minor === ex.minor) continue;
      const wide = this.exceptions.get(key({ type: ex.type, major, minor }));
      if (wide && (wide.access & ex.access)) {
        throw new Error(
          `cgroup: devices: the rule ${format(ex)} cannot punch a hole in the wider rule ` +
            `${format(wide)} (the kernel would ignore it)`,
        );
      }
    }
    const k = key(ex);
    const cur = this.exceptions.get(k);
    if (!cur) return;
    const left = cur.access & ~ex.access;
    if (left) this.exceptions.set(k, { ...cur, access: left });
    else this.exceptions.delete(k);
  }

  /** The policy a list of rules gives, starting from deny-all (what runc does). */
  static from(rules: DeviceRule[]): DevicePolicy {
    const p = new DevicePolicy();
    for (const r of rules) p.apply(r);
    return p;
  }

  /**
   * The policy shown by a v1 devices.list. An allow-all cgroup shows only
   * "a *:* rwm", hiding its deny exceptions: `complete` is false then.
   */
  static fromList(text: string): { policy: DevicePolicy; complete: boolean } {
    const p = new DevicePolicy();
    const lines = text.split("\n").filter((l) => l.trim());
    if (lines.some((l) => l.startsWith("a "))) {
      p.defaultAllow = true;
      return { policy: p, complete: false };
    }
    for (const line of lines) {
      const m = /^([bc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line.trim());
      if (!m) throw new Error(`cgroup: devices.list: unexpected line "${line}"`);
      const ex = {
        type: m[1] as "b" | "c",
        major: m[2] === "*" ? ANY : Number(m[2]),
        minor: m[3] === "*" ? ANY : Number(m[3]),
        access: parseAccess(m[4]),
      };
      p.add(ex);
    }
    return { policy: p, complete: true };
  }
}

function wildcard(v: number | null | undefined, what: string): number {
  if (v === undefined || v === null || v === ANY) return ANY;
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new Error(`cgroup: devices: invalid ${what} number ${v}`);
  }
  return v;
}

function parseAccess(access: string | undefined): number {
  // OCI leaves access optional; an absent access means all of it, as in runc.
  if (!access) return ALL;
  let bits = 0;
  for (const ch of access) {
    const b = ACC[ch as keyof typeof ACC];
    if (!b) throw new Error(`cgroup: devices: invalid access "${access}" (want a subset of rwm)`);
    bits |= b;
  }
  return bits;
}

export function key(ex: { type: string; major: number; minor: number }): string {
  const n = (v: number) => (v === ANY ? "*" : String(v));
  return `${ex.type} ${n(ex.major)}:${n(ex.minor)}`;
}

export function accessString(bits: number): string {
  return (bits & ACC.r ? "r" : "") + (bits & ACC.w ? "w" : "") + (bits & ACC.m ? "m" : "");
}

/** "c 1:3 rwm": the devices.allow/deny syntax. */
export function format(ex: DeviceException): string {
  return `${key(ex)} ${accessString(ex.access)}`;
}

/**
 * The devices every container may use, appended after the spec's rules like
 * runc 1.1 does: mknod of anything, and the standard character devices
 * (with the path runc knows each by).
 */
export const DEFAULT_DEVICE_RULES: readonly (DeviceRule & { path?: string })[] = [
  { allow: true, type: "c", major: null, minor: null, access: "m" },
  { allow: true, type: "b", major: null, minor: null, access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm", path: "/dev/null" },
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm", path: "/dev/random" },
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm", path: "/dev/full" },
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm", path: "/dev/tty" },
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm", path: "/dev/zero" },
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm", path: "/dev/urandom" },
  { allow: true, type: "c", major: 136, minor: null, access: "rwm" }, // /dev/pts/*
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // /dev/net/tun
];

/**
 * The full rule list for a container, as runc 1.1 builds it: the spec's
 * rules, then the defaults, except a default whose path the spec lists in
 * linux.devices (that device's access is then the spec's rules' alone).
 * A node in linux.devices is made in the container but gets no access of its
 * own: `docker run --device /dev/x:/dev/x:r` is read-only, as with runc.
 */
export function containerDeviceRules(
  rules: DeviceRule[] | undefined,
  linuxDevices: Device[] | undefined,
): DeviceRule[] {
  const listed = new Set((linuxDevices ?? []).map((d) => d.path));
  const defaults = DEFAULT_DEVICE_RULES.filter((r) => !r.path || !listed.has(r.path))
    .map(({ path: _path, ...rule }) => rule);
  return [...(rules ?? []), ...defaults];
}

/**
 * The writes that take a v1 devices cgroup from `current` (its devices.list)
 * to `target`, in order; each is [file, value]. Between two deny-all
 * policies only the differences are written, so a running container never
 * loses access it keeps (`runc update` re-applies the rules).
 */
export function v1Transition(currentList: string, target: DevicePolicy): [string, string][] {
  const { policy: cur, complete } = DevicePolicy.fromList(currentList);
  const out: [string, string][] = [];
  const reset = () => {
    out.push([target.defaultAllow ? "devices.allow" : "devices.deny", "a"]);
    for (const ex of target.exceptions.values()) {
      out.push([target.defaultAllow ? "devices.deny" : "devices.allow", format(ex)]);
    }
  };
  if (target.defaultAllow || cur.defaultAllow || !complete) {
    reset();
    return out;
  }
  for (const [k, ex] of target.exceptions) {
    const add = ex.access & ~(cur.exceptions.get(k)?.access ?? 0);
    if (add) out.push(["devices.allow", format({ ...ex, access: add })]);
  }
  for (const [k, ex] of cur.exceptions) {
    const drop = ex.access & ~(target.exceptions.get(k)?.access ?? 0);
    if (drop) out.push(["devices.deny", format({ ...ex, access: drop })]);
  }
  return out;
}
