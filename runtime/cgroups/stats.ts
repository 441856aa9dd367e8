/**
 * The statistics document of `runc events --stats` ("data"), with runc's
 * JSON field names and order. Fields that runc marks omitempty are optional
 * here and left out when zero or empty, so the JSON has runc's shape.
 *
 * "No limit" is UINT64_MAX in runc's output (v2 "max"); as a JS number it is
 * {@link UINT64_MAX} (2^64). Counters above 2^53 are not exact as numbers:
 * print stats with {@link statsJSON} to get runc's exact digits.
 */

export interface CpuUsage {
  /** Nanoseconds. */
  total?: number;
  percpu?: number[];
  percpu_kernel?: number[];
  percpu_user?: number[];
  kernel: number;
  user: number;
}

export interface Throttling {
  periods?: number;
  throttledPeriods?: number;
  /** Nanoseconds. */
  throttledTime?: number;
}

export interface CpuStats {
  usage: CpuUsage;
  throttling: Throttling;
}

export interface CpuSetStats {
  cpus?: number[];
  cpu_exclusive: number;
  mems?: number[];
  mem_hardwall: number;
  mem_exclusive: number;
  memory_migrate: number;
  memory_spread_page: number;
  memory_spread_slab: number;
  memory_pressure: number;
  sched_load_balance: number;
  sched_relax_domain_level: number;
}

export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface MemoryStats {
  cache?: number;
  usage: MemoryEntry;
  /** v1: memory+swap (memsw); v2: emulated the same way (swap + memory). */
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  /** memory.stat. */
  raw?: Record<string, number>;
}

export interface PidsStats {
  current?: number;
  /** 0 when unlimited. */
  limit?: number;
}

export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
  ioQueueRecursive?: BlkioEntry[];
  ioServiceTimeRecursive?: BlkioEntry[];
  ioWaitTimeRecursive?: BlkioEntry[];
  ioMergedRecursive?: BlkioEntry[];
  ioTimeRecursive?: BlkioEntry[];
  sectorsRecursive?: BlkioEntry[];
}

export interface HugetlbStats {
  usage?: number;
  max?: number;
  failcnt: number;
}

/** The "data" of a `runc events` stats event. */
export interface CgroupStats {
  cpu: CpuStats;
  cpuset: CpuSetStats;
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
  /** By page size ("2MB"). */
  hugetlb: Record<string, HugetlbStats>;
  /** Intel RDT is not supported: always empty, as runc prints it then. */
  intel_rdt: Record<string, never>;
  /** Not collected (runc fills it only for its own network setup). */
  network_interfaces: null;
}

/** runc's "unlimited" (UINT64_MAX), as the nearest JS number. */
export const UINT64_MAX = 2 ** 64;

/**
 * The v1 memory.stat keys containerd and dockerd report, in containerd's
 * MemoryStat field order (the first 15 also come as `total_<key>`).
 */
export const V1_MEMORY_STAT_KEYS = [
  "cache",
  "rss",
  "rss_huge",
  "mapped_file",
  "dirty",
  "writeback",
  "pgpgin",
  "pgpgout",
  "pgfault",
  "pgmajfault",
  "inactive_anon",
  "active_anon",
  "inactive_file",
  "active_file",
  "unevictable",
  "hierarchical_memory_limit",
  "hierarchical_memsw_limit",
] as const;

/** Deletes the listed keys whose value is 0, "", undefined or an empty array/object. */
export function omitEmpty<T extends object>(obj: T, ...keys: (keyof T)[]): T {
  for (const k of keys) {
    const v = obj[k] as unknown;
    if (
      v === 0 || v === "" || v === undefined ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
    ) delete obj[k];
  }
  return obj;
}

/**
 * JSON.stringify that prints integers above 2^53 with exact digits (as
 * BigInt does) and {@link UINT64_MAX} as 18446744073709551615, like runc.
 */
export function statsJSON(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v <= Number.MAX_SAFE_INTEGER) return v;
    const digits = v >= UINT64_MAX ? "18446744073709551615" : BigInt(v).toString();
    return (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(digits);
  });
}

/** "0-2,4" → [0, 1, 2, 4]. */
export function parseCpuList(s: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (s ?? "").split(",")) {
    if (!part.trim()) continue;
    const [a, b] = part.split("-").map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Parses a v1 blkio stat file: "8:0 Read 123" lines (the "Total" line is skipped). */
export function parseBlkio(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 2 || !f[0].includes(":")) continue;
    const [major, minor] = f[0].split(":").map(Number);
    const e = f.length >= 3
      ? { major, minor, op: f[1], value: Number(f[2]) }
      : { major, minor, value: Number(f[1]) };
    out.push(omitEmpty(e as BlkioEntry, "major", "minor", "op", "value"));
  }
  return out;
}

/** Page sizes the kernel supports, in runc's notation ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync("/sys/kernel/mm/hugepages")) {
      const m = /^hugepages-(\d+)kB$/.exec(e.name);
      if (!m) continue;
      let n = Number(m[1]), unit = 1;
      while (n >= 1024 && n % 1024 === 0 && unit < 4) n /= 1024, unit++;
      out.push(`${n}${["B", "KB", "MB", "GB", "TB"][unit]}`);
    }
  } catch { /* no hugetlb support */ }
  return out.sort();
}

export function emptyStats(): CgroupStats {
  const entry = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
  return {
    cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
    cpuset: {
      cpu_exclusive: 0,
      mem_hardwall: 0,
      mem_exclusive: 0,
      memory_migrate: 0,
      memory_spread_page: 0,
      memory_spread_slab: 0,
      memory_pressure: 0,
      sched_load_balance: 0,
      sched_relax_domain_level: 0,
    },
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry() },
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}
