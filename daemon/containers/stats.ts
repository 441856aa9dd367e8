/**
 * `docker stats` data: Docker's StatsJSON from the container's cgroup
 * (cgroup v1 or v2, read where the spec put it: `/berth/<id>` in every
 * hierarchy), shaped as dockerd's statsV1/statsV2 shape containerd's
 * metrics, with the host's CPU time from /proc/stat. A container that is not
 * running has Docker's zeroed stats (name and id only).
 */
import type { ContainerRecord } from "./store.ts";
import type { BlkioEntry, CgroupStats } from "../../runtime/cgroups/mod.ts";
import { newCgroupManager } from "../../runtime/cgroups/mod.ts";
import { V1_MEMORY_STAT_KEYS } from "../../runtime/cgroups/stats.ts";
import { ZERO_TIME } from "./create.ts";
import { normalizeCgroupParent } from "../config.ts";

export interface BlkioStatEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

type BlkioList = BlkioStatEntry[] | null;

export interface CpuStatsJSON {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** types.StatsJSON, fields in Go's order (omitempty ones optional). */
export interface StatsJSON {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioList;
    io_serviced_recursive: BlkioList;
    io_queue_recursive: BlkioList;
    io_service_time_recursive: BlkioList;
    io_wait_time_recursive: BlkioList;
    io_merged_recursive: BlkioList;
    io_time_recursive: BlkioList;
    sectors_recursive: BlkioList;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStatsJSON;
  precpu_stats: CpuStatsJSON;
  memory_stats: {
    usage?: number;
    max_usage?: number;
    stats?: Record<string, number>;
    failcnt?: number;
    limit?: number;
  };
  name?: string;
  id?: string;
}

/**
 * The cgroup dockerd's spec gives a container (daemon/containers/service.ts):
 * below its own CgroupParent, else below the daemon's.
 */
export function cgroupsPathOf(rec: ContainerRecord, daemonParent: string): string {
  const parent = rec.HostConfig.CgroupParent
    ? normalizeCgroupParent(rec.HostConfig.CgroupParent)
    : daemonParent;
  return `${parent}/${rec.Id}`;
}

const zeroCpu = (): CpuStatsJSON => ({
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
});

/** What dockerd answers for a container that does not run. */
export function zeroStats(rec: ContainerRecord): StatsJSON {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: zeroCpu(),
    precpu_stats: zeroCpu(),
    memory_stats: {},
    name: rec.Name,
    id: rec.Id,
  };
}

/** v1 memory.stat keys dockerd reports (containerd's MemoryStat fields). */
const V1_MEMORY_KEYS = [
  ...V1_MEMORY_STAT_KEYS,
  ...V1_MEMORY_STAT_KEYS.slice(0, 15).map((k) => `total_${k}`),
];

/** v2 memory.stat keys dockerd reports. */
const V2_MEMORY_KEYS = [
  "anon",
  "file",
  "kernel_stack",
  "slab",
  "sock",
  "shmem",
  "file_mapped",
  "file_dirty",
  "file_writeback",
  "anon_thp",
  "inactive_anon",
  "active_anon",
  "inactive_file",
  "active_file",
  "unevictable",
  "slab_reclaimable",
  "slab_unreclaimable",
  "pgfault",
  "pgmajfault",
  "workingset_refault",
  "workingset_activate",
  "workingset_nodereclaim",
  "pgrefill",
  "pgscan",
  "pgsteal",
  "pgactivate",
  "pgdeactivate",
  "pglazyfree",
  "pglazyfreed",
  "thp_fault_alloc",
  "thp_collapse_alloc",
];

const pick = (raw: Record<string, number>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, raw[k] ?? 0]));

const entry = (e: BlkioEntry): BlkioStatEntry => ({
  major: e.major ?? 0,
  minor: e.minor ?? 0,
  op: e.op ?? "",
  value: e.value ?? 0,
});

/** Go's RFC3339Nano of a millisecond time (no trailing zeros in the fraction). */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0*Z$/, "Z");
}

/** The host's CPU time in nanoseconds and its online CPUs, from /proc/stat (as dockerd). */
export function systemCpuUsage(): { usage: number; cpus: number } {
  let usage = 0, cpus = 0;
  for (const line of Deno.readTextFileSync("/proc/stat").split("\n")) {
    if (!line.startsWith("cpu")) break;
    if (line[3] === " ") {
      const ticks = line.split(/\s+/).slice(1, 8).reduce((n, v) => n + Number(v), 0);
      usage = ticks * 1e7; // USER_HZ is 100
    } else if (/\d/.test(line[3])) cpus++;
  }
  return { usage, cpus };
}

/**
 * The container's stats now, or undefined when its cgroup is gone (it
 * stopped). `machineMemory` caps an unlimited memory limit, as dockerd does.
 */
export function readStats(
  rec: ContainerRecord,
  cgroupParent: string,
  machineMemory: number,
): StatsJSON | undefined {
  const cg = newCgroupManager(cgroupsPathOf(rec, cgroupParent), rec.Id);
  const dir = cg.version === 2 ? cg.paths[""] : cg.paths.memory ?? cg.paths.cpuacct;
  let s: CgroupStats;
  try {
    if (!dir || !Deno.statSync(dir).isDirectory) return undefined;
    s = cg.stats();
  } catch {
    return undefined;
  }
  const readMs = Date.now();
  const sys = systemCpuUsage();
  const out = zeroStats(rec);
  out.read = rfc3339Nano(readMs);
  const b = s.blkio;
  if (cg.version === 1) {
    const list = (l: BlkioEntry[] | undefined) => (l ?? []).map(entry);
    out.blkio_stats = {
      io_service_bytes_recursive: list(b.ioServiceBytesRecursive),
      io_serviced_recursive: list(b.ioServicedRecursive),
      io_queue_recursive: list(b.ioQueueRecursive),
      io_service_time_recursive: list(b.ioServiceTimeRecursive),
      io_wait_time_recursive: list(b.ioWaitTimeRecursive),
      io_merged_recursive: list(b.ioMergedRecursive),
      io_time_recursive: list(b.ioTimeRecursive),
      sectors_recursive: list(b.sectorsRecursive),
    };
  } else {
    // v2: bytes read and written per device; the other lists do not exist.
    const bytes = (b.ioServiceBytesRecursive ?? [])
      .filter((e) => e.op === "Read" || e.op === "Write")
      .map((e) => entry({ ...e, op: e.op!.toLowerCase() }));
    out.blkio_stats.io_service_bytes_recursive = bytes.length ? bytes : null;
  }
  const u = s.cpu.usage;
  const t = s.cpu.throttling;
  out.cpu_stats = {
    cpu_usage: {
      total_usage: u.total ?? 0,
      ...(cg.version === 1 && u.percpu?.length ? { percpu_usage: u.percpu } : {}),
      usage_in_kernelmode: u.kernel,
      usage_in_usermode: u.user,
    },
    ...(sys.usage ? { system_cpu_usage: sys.usage } : {}),
    ...(sys.cpus ? { online_cpus: sys.cpus } : {}),
    throttling_data: {
      periods: t.periods ?? 0,
      throttled_periods: t.throttledPeriods ?? 0,
      throttled_time: t.throttledTime ?? 0,
    },
  };
  const m = s.memory;
  const raw = m.raw ?? {};
  const mem: StatsJSON["memory_stats"] = {};
  if (m.usage.usage) mem.usage = m.usage.usage;
  if (cg.version === 1 && m.usage.max) mem.max_usage = m.usage.max;
  mem.stats = pick(raw, cg.version === 1 ? V1_MEMORY_KEYS : V2_MEMORY_KEYS);
  // v2's failcnt is memory.events' "oom" (v1: memory.failcnt).
  const failcnt = cg.version === 1 ? m.usage.failcnt : oomEvents(dir);
  if (failcnt) mem.failcnt = failcnt;
  let limit = m.usage.limit;
  if (machineMemory > 0 && limit > machineMemory) limit = machineMemory;
  if (limit) mem.limit = limit;
  out.memory_stats = mem;
  const pids: StatsJSON["pids_stats"] = {};
  if (s.pids.current) pids.current = s.pids.current;
  if (s.pids.limit) pids.limit = s.pids.limit;
  out.pids_stats = pids;
  return out;
}

function oomEvents(dir: string): number {
  try {
    const m = /^oom (\d+)$/m.exec(Deno.readTextFileSync(`${dir}/memory.events`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * JSON with integers printed digit for digit (uint64 counters above 2^53
 * stay exact where the double is, and nothing above Go's uint64 range).
 */
export function goJson(v: unknown): string {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return JSON.stringify(v);
    const n = BigInt(v);
    const max = (1n << 64n) - 1n;
    return (n > max ? max : n).toString();
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const parts = Object.entries(v).filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${goJson(x)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v);
}
