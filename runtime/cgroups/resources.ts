/** Checks shared by both cgroup versions before anything is written. */

import type { Resources } from "../spec/types.ts";
import { hugePageSizes } from "./stats.ts";

const KNOWN: Record<string, readonly string[] | null> = {
  devices: null,
  memory: [
    "limit",
    "reservation",
    "swap",
    "kernel",
    "kernelTCP",
    "swappiness",
    "disableOOMKiller",
    "useHierarchy",
    "checkBeforeUpdate",
  ],
  cpu: [
    "shares",
    "quota",
    "burst",
    "period",
    "realtimeRuntime",
    "realtimePeriod",
    "cpus",
    "mems",
    "idle",
  ],
  pids: ["limit"],
  blockIO: [
    "weight",
    "leafWeight",
    "weightDevice",
    "throttleReadBpsDevice",
    "throttleWriteBpsDevice",
    "throttleReadIOPSDevice",
    "throttleWriteIOPSDevice",
  ],
  hugepageLimits: null,
  network: ["classID", "priorities"],
  rdma: null,
  unified: null,
};

/**
 * Throws on a field berth does not know (a newer spec, or a typo), so that a
 * limit is never silently ignored. Null and undefined values are fine.
 */
export function checkKnownFields(r: Resources): void {
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined || v === null) continue;
    if (!(k in KNOWN)) throw new Error(`cgroup: unsupported resource linux.resources.${k}`);
    const sub = KNOWN[k];
    if (!sub) continue;
    if (typeof v !== "object" || Array.isArray(v)) {
      throw new Error(`cgroup: linux.resources.${k} must be an object`);
    }
    for (const [f, fv] of Object.entries(v)) {
      if (fv !== undefined && fv !== null && !sub.includes(f)) {
        throw new Error(`cgroup: unsupported resource linux.resources.${k}.${f}`);
      }
    }
  }
}

/** A number that is set: not undefined, null or 0 (runc's "unset"). */
export function isSet(v: number | null | undefined): v is number {
  return v !== undefined && v !== null && v !== 0;
}

/** Checks that `v` is an integer, naming the field otherwise. */
export function int(v: unknown, field: string, min = -1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new Error(`cgroup: ${field}: invalid value ${JSON.stringify(v)}`);
  }
  return v;
}

/** An entry of blockIO.weightDevice. */
export interface WeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

/** An entry of the blockIO.throttle*Device lists. */
export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export const THROTTLES = [
  ["throttleReadBpsDevice", "read_bps_device", "rbps"],
  ["throttleWriteBpsDevice", "write_bps_device", "wbps"],
  ["throttleReadIOPSDevice", "read_iops_device", "riops"],
  ["throttleWriteIOPSDevice", "write_iops_device", "wiops"],
] as const;

export function deviceList<T extends { major: number; minor: number }>(
  list: unknown[] | undefined,
  field: string,
): T[] {
  const out = (list ?? []) as T[];
  for (const d of out) {
    int(d?.major, `${field}.major`, 0);
    int(d?.minor, `${field}.minor`, 0);
  }
  return out;
}

/** Validates hugepageLimits against the kernel's page sizes. */
export function hugepageLimits(r: Resources): { pageSize: string; limit: number }[] {
  const list = r.hugepageLimits ?? [];
  if (!list.length) return list;
  const sizes = hugePageSizes();
  for (const h of list) {
    if (!sizes.includes(h.pageSize)) {
      throw new Error(
        `cgroup: hugepageLimits: page size "${h.pageSize}" is not supported by the kernel ` +
          `(supported: ${sizes.join(", ") || "none"})`,
      );
    }
    int(h.limit, `hugepageLimits[${h.pageSize}].limit`);
  }
  return list;
}

/** The rdma limits: device name → "hca_handle=N hca_object=N". */
export function rdmaLimits(r: Resources): [string, string][] {
  const out: [string, string][] = [];
  const rdma = (r.rdma ?? {}) as Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  for (const [dev, lim] of Object.entries(rdma)) {
    const parts: string[] = [];
    if (lim?.hcaHandles !== undefined) parts.push(`hca_handle=${int(lim.hcaHandles, "rdma")}`);
    if (lim?.hcaObjects !== undefined) parts.push(`hca_object=${int(lim.hcaObjects, "rdma")}`);
    if (parts.length) out.push([dev, parts.join(" ")]);
  }
  return out;
}
