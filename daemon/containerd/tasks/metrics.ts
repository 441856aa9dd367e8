/**
 * Task metrics: the runtime's `events --stats` data (runc's JSON shape)
 * turned into what containerd's runc shim returns, an Any holding
 * io.containerd.cgroups.v1.Metrics (cgroup v1 hosts) or
 * io.containerd.cgroups.v2.Metrics (unified hosts), so that `ctr task
 * metrics` can decode it. Field numbers: proto/cgroups/v{1,2}/metrics.proto.
 */
import type { Any } from "../context.ts";
import {
  type BlkioEntry,
  type CgroupStats,
  type MemoryEntry,
  V1_MEMORY_STAT_KEYS,
} from "../../../runtime/cgroups/stats.ts";
import { PbWriter } from "./pb.ts";

/** Type URLs as containerd's typeurl registers them (the bare message name). */
export const METRICS_V1 = "io.containerd.cgroups.v1.Metrics";
export const METRICS_V2 = "io.containerd.cgroups.v2.Metrics";

let unified: boolean | undefined;

/** True on a pure cgroup v2 host (the stats are then v2 counters). */
export function cgroupV2Host(): boolean {
  if (unified === undefined) {
    try {
      Deno.statSync("/sys/fs/cgroup/cgroup.controllers");
      unified = true;
    } catch {
      unified = false;
    }
  }
  return unified;
}

/** Encodes the runtime's stats as the Any containerd's Metrics API carries. */
export function metricsAny(stats: Partial<CgroupStats>, v2 = cgroupV2Host()): Any {
  return v2
    ? { type_url: METRICS_V2, value: encodeV2(stats) }
    : { type_url: METRICS_V1, value: encodeV1(stats) };
}

function memEntry(e: MemoryEntry | undefined): PbWriter | undefined {
  if (!e) return undefined;
  return new PbWriter().uint(1, e.limit).uint(2, e.usage).uint(3, e.max).uint(4, e.failcnt);
}

const BLKIO_FIELDS: (keyof NonNullable<CgroupStats["blkio"]>)[] = [
  "ioServiceBytesRecursive",
  "ioServicedRecursive",
  "ioQueueRecursive",
  "ioServiceTimeRecursive",
  "ioWaitTimeRecursive",
  "ioMergedRecursive",
  "ioTimeRecursive",
  "sectorsRecursive",
];

function blkioEntry(e: BlkioEntry): PbWriter {
  return new PbWriter().string(1, e.op).uint(3, e.major).uint(4, e.minor).uint(5, e.value);
}

export function encodeV1(s: Partial<CgroupStats>): Uint8Array {
  const m = new PbWriter();
  for (const [pagesize, h] of Object.entries(s.hugetlb ?? {})) {
    m.message(
      1,
      new PbWriter().uint(1, h.usage).uint(2, h.max).uint(3, h.failcnt).string(4, pagesize),
    );
  }
  if (s.pids) m.message(2, new PbWriter().uint(1, s.pids.current).uint(2, s.pids.limit));
  if (s.cpu) {
    const u = s.cpu.usage ?? {};
    const t = s.cpu.throttling ?? {};
    m.message(
      3,
      new PbWriter()
        .message(
          1,
          new PbWriter().uint(1, u.total).uint(2, u.kernel).uint(3, u.user).packed(4, u.percpu),
        )
        .message(
          2,
          new PbWriter().uint(1, t.periods).uint(2, t.throttledPeriods).uint(3, t.throttledTime),
        ),
    );
  }
  if (s.memory) {
    const raw = s.memory.raw ?? {};
    const mem = new PbWriter();
    // Fields 1–17 are the cgroup's own counters, 18–32 the hierarchical
    // "total_" ones (hierarchical limits have no total_ twin).
    V1_MEMORY_STAT_KEYS.forEach((k, i) =>
      mem.uint(i + 1, k === "cache" ? s.memory!.cache ?? raw[k] : raw[k])
    );
    V1_MEMORY_STAT_KEYS.slice(0, 15).forEach((k, i) => mem.uint(18 + i, raw[`total_${k}`]));
    mem.message(33, memEntry(s.memory.usage)).message(34, memEntry(s.memory.swap))
      .message(35, memEntry(s.memory.kernel)).message(36, memEntry(s.memory.kernelTCP));
    m.message(4, mem);
  }
  if (s.blkio) {
    const b = new PbWriter();
    BLKIO_FIELDS.forEach((f, i) => {
      for (const e of s.blkio![f] ?? []) b.message(i + 1, blkioEntry(e));
    });
    m.message(5, b);
  }
  return m.finish();
}

/** v2 memory.stat keys with their io.containerd.cgroups.v2.MemoryStat field numbers. */
const V2_MEMORY_STAT: [string, number][] = [
  ["anon", 1],
  ["file", 2],
  ["kernel_stack", 3],
  ["slab", 4],
  ["sock", 5],
  ["shmem", 6],
  ["file_mapped", 7],
  ["file_dirty", 8],
  ["file_writeback", 9],
  ["anon_thp", 10],
  ["inactive_anon", 11],
  ["active_anon", 12],
  ["inactive_file", 13],
  ["active_file", 14],
  ["unevictable", 15],
  ["slab_reclaimable", 16],
  ["slab_unreclaimable", 17],
  ["pgfault", 18],
  ["pgmajfault", 19],
  ["workingset_refault", 20],
  ["workingset_activate", 21],
  ["workingset_nodereclaim", 22],
  ["pgrefill", 23],
  ["pgscan", 24],
  ["pgsteal", 25],
  ["pgactivate", 26],
  ["pgdeactivate", 27],
  ["pglazyfree", 28],
  ["pglazyfreed", 29],
  ["thp_fault_alloc", 30],
  ["thp_collapse_alloc", 31],
];

export function encodeV2(s: Partial<CgroupStats>): Uint8Array {
  const m = new PbWriter();
  if (s.pids) m.message(1, new PbWriter().uint(1, s.pids.current).uint(2, s.pids.limit));
  if (s.cpu) {
    const u = s.cpu.usage ?? {};
    const t = s.cpu.throttling ?? {};
    const us = (ns: number | undefined) => ns === undefined ? undefined : Math.floor(ns / 1000);
    m.message(
      2,
      new PbWriter().uint(1, us(u.total)).uint(2, us(u.user)).uint(3, us(u.kernel))
        .uint(4, t.periods).uint(5, t.throttledPeriods).uint(6, us(t.throttledTime)),
    );
  }
  if (s.memory) {
    const raw = s.memory.raw ?? {};
    const mem = new PbWriter();
    for (const [k, n] of V2_MEMORY_STAT) mem.uint(n, raw[k]);
    // runc reports swap as memory+swap (as v1's memsw): take memory back out.
    const swapUsage = Math.max(0, (s.memory.swap?.usage ?? 0) - (s.memory.usage?.usage ?? 0));
    mem.uint(32, s.memory.usage?.usage).uint(33, s.memory.usage?.limit)
      .uint(34, swapUsage).uint(35, s.memory.swap?.limit);
    m.message(4, mem);
  }
  return m.finish();
}
