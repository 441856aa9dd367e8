/**
 * The cgroup v2 manager: one directory in the unified hierarchy. Limits are
 * the v2 files (memory.max, cpu.max, io.weight, ...), with runc's
 * conversions from the OCI (v1-shaped) values; device rules are an eBPF
 * program attached to the directory.
 */

import type { Resources } from "../spec/types.ts";
import type { CgroupManager, SetOptions } from "./types.ts";
import {
  exists,
  pidsRecursive,
  pollUntil,
  readFile,
  readKeyValues,
  readNumber,
  removeTree,
  tryRead,
  writeFile,
} from "./fs.ts";
import { containerDeviceRules, DevicePolicy } from "./devices.ts";
import { setDeviceFilter } from "./ebpf.ts";
import {
  checkKnownFields,
  deviceList,
  hugepageLimits,
  int,
  isSet,
  rdmaLimits,
  type ThrottleDevice,
  THROTTLES,
  type WeightDevice,
} from "./resources.ts";
import {
  type BlkioEntry,
  type CgroupStats,
  hugePageSizes,
  type HugetlbStats,
  type MemoryEntry,
  omitEmpty,
  UINT64_MAX,
} from "./stats.ts";

/** cpu.shares (2..262144) → cpu.weight (1..10000), the formula runc and crun use. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10..1000) → io.weight (1..10000), as runc converts it. */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

export class V2Manager implements CgroupManager {
  readonly version = 2 as const;
  readonly paths: Record<string, string>;

  constructor(readonly dir: string) {
    this.paths = { "": dir };
  }

  /** Throws unless `file` exists: its controller is not enabled (or not in this kernel). */
  private need(file: string, field: string): void {
    if (exists(`${this.dir}/${file}`)) return;
    const ctrl = file.split(".")[0];
    const enabled = tryRead(this.dir, "cgroup.controllers");
    throw new Error(
      `cgroup: ${field}: ${this.dir}/${file} does not exist (the "${ctrl}" controller is not ` +
        `enabled here: cgroup.controllers is "${enabled ?? "?"}")`,
    );
  }

  create(): void {
    try {
      Deno.mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new Error(`cgroup: creating ${this.dir}: ${(e as Error).message}`);
    }
    // A controller's files appear in a cgroup only when every ancestor lists
    // it in cgroup.subtree_control: enable what each level offers, top down.
    // Failures are left to set(): e.g. EBUSY when an ancestor has processes
    // of its own (the no-internal-processes rule) or a controller is threaded.
    const ancestors: string[] = [];
    for (
      let d = this.dir.slice(0, this.dir.lastIndexOf("/"));
      d && exists(`${d}/cgroup.controllers`);
      d = d.slice(0, d.lastIndexOf("/"))
    ) ancestors.unshift(d);
    for (const a of ancestors) {
      const have = new Set((tryRead(a, "cgroup.subtree_control") ?? "").split(" "));
      for (const c of (tryRead(a, "cgroup.controllers") ?? "").split(" ")) {
        if (!c || have.has(c)) continue;
        try {
          writeFile(a, "cgroup.subtree_control", `+${c}`);
        } catch { /* see above */ }
      }
    }
  }

  apply(pid: number): void {
    writeFile(this.dir, "cgroup.procs", pid);
  }

  set(r: Resources, opts: SetOptions = {}): void {
    checkKnownFields(r);
    this.refuseV1Only(r);
    const dir = this.dir;
    const huge = hugepageLimits(r);
    const rdma = rdmaLimits(r);
    // Computed first: a bad rule list fails before anything is written.
    const devices = opts.skipDevices
      ? undefined
      : DevicePolicy.from(containerDeviceRules(r.devices, opts.devices));
    const cpu = r.cpu;
    for (const h of huge) this.need(`hugetlb.${h.pageSize}.max`, "hugepageLimits");
    if (rdma.length) this.need("rdma.max", "rdma");

    if (cpu?.cpus) {
      this.need("cpuset.cpus", "cpu.cpus");
      writeFile(dir, "cpuset.cpus", cpu.cpus);
    }
    if (cpu?.mems) {
      this.need("cpuset.mems", "cpu.mems");
      writeFile(dir, "cpuset.mems", cpu.mems);
    }
    if (devices) setDeviceFilter(dir, devices);
    if (r.memory) this.setMemory(r.memory);
    if (cpu) this.setCpu(cpu);
    if (r.pids) {
      const limit = int(r.pids.limit, "pids.limit");
      // "No limit" needs no controller (Docker sends limit 0 by default).
      if (limit > 0 || exists(`${dir}/pids.max`)) {
        this.need("pids.max", "pids.limit");
        writeFile(dir, "pids.max", limit > 0 ? limit : "max");
      }
    }
    if (r.blockIO) this.setIo(r.blockIO);
    for (const h of huge) {
      writeFile(dir, `hugetlb.${h.pageSize}.max`, h.limit);
      const rsvd = `hugetlb.${h.pageSize}.rsvd.max`;
      if (exists(`${dir}/${rsvd}`)) writeFile(dir, rsvd, h.limit);
    }
    for (const [dev, value] of rdma) writeFile(dir, "rdma.max", `${dev} ${value}`);
    // Last, so that explicit v2 values win over the converted ones.
    for (const [key, value] of Object.entries(r.unified ?? {})) {
      if (!/^[a-z0-9_]+\.[a-z0-9_.]+$/i.test(key) || key.includes("..")) {
        throw new Error(
          `cgroup: unified: invalid key "${key}" (want a file name like "memory.high")`,
        );
      }
      this.need(key, `unified["${key}"]`);
      writeFile(dir, key, value);
    }
  }

  /** Fields that only cgroup v1 has: refuse them before anything is written. */
  private refuseV1Only(r: Resources): void {
    const m = r.memory, c = r.cpu, b = r.blockIO;
    const refuse = (field: string, why = "has no cgroup v2 equivalent") => {
      throw new Error(`cgroup: ${field} ${why}`);
    };
    if (m?.kernel) refuse("memory.kernel", "(kernel memory limit) is deprecated and not supported");
    if (isSet(m?.kernelTCP)) refuse("memory.kernelTCP");
    if (m?.swappiness !== undefined && m.swappiness !== null && m.swappiness !== -1) {
      refuse("memory.swappiness");
    }
    if (m?.disableOOMKiller) refuse("memory.disableOOMKiller");
    if (m?.useHierarchy === false) {
      refuse("memory.useHierarchy=false", "is impossible on cgroup v2");
    }
    if (isSet(c?.realtimeRuntime) || isSet(c?.realtimePeriod)) {
      refuse("cpu.realtimeRuntime/realtimePeriod", "are not supported on cgroup v2");
    }
    if (isSet(b?.leafWeight)) refuse("blockIO.leafWeight");
    if ((b?.weightDevice as WeightDevice[] | undefined)?.some((d) => isSet(d?.leafWeight))) {
      refuse("blockIO.weightDevice[].leafWeight");
    }
    const net = r.network as { classID?: number; priorities?: unknown[] } | undefined;
    if (
      (net?.classID !== undefined && net.classID !== null) || net?.priorities?.length
    ) refuse("network (net_cls/net_prio)", "is not available on cgroup v2");
  }

  private setMemory(m: NonNullable<Resources["memory"]>): void {
    const dir = this.dir;
    const limit = isSet(m.limit) ? int(m.limit, "memory.limit") : undefined;
    const swap = isSet(m.swap) ? int(m.swap, "memory.swap") : undefined;
    if (limit !== undefined) this.need("memory.max", "memory.limit");
    if (m.checkBeforeUpdate && limit !== undefined && limit > 0) {
      const usage = readNumber(dir, "memory.current");
      if (usage > limit) {
        throw new Error(
          `cgroup: memory.limit: ${limit} is below the current usage ${usage} (checkBeforeUpdate)`,
        );
      }
    }
    if (swap !== undefined) {
      // OCI's swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone.
      let value: string | number = "max";
      if (swap !== -1) {
        const mem = limit ?? readNumber(dir, "memory.max", -1, -1);
        if (mem === -1) {
          throw new Error(
            "cgroup: memory.swap: on cgroup v2 a swap limit needs a memory limit " +
              "(memory.swap.max = swap - limit)",
          );
        }
        if (swap < mem) {
          throw new Error(`cgroup: memory.swap (${swap}) must not be below memory.limit (${mem})`);
        }
        value = swap - mem;
      }
      // Without swap accounting there is nothing to limit; "unlimited" is then moot.
      if (value !== "max" || exists(`${dir}/memory.swap.max`)) {
        this.need("memory.swap.max", "memory.swap");
        writeFile(dir, "memory.swap.max", value);
      }
    }
    if (limit !== undefined) writeFile(dir, "memory.max", limit === -1 ? "max" : limit);
    if (isSet(m.reservation)) {
      const v = int(m.reservation, "memory.reservation");
      this.need("memory.low", "memory.reservation");
      writeFile(dir, "memory.low", v === -1 ? "max" : v);
    }
  }

  private setCpu(c: NonNullable<Resources["cpu"]>): void {
    const dir = this.dir;
    if (isSet(c.shares)) {
      const shares = int(c.shares, "cpu.shares", 2);
      this.need("cpu.weight", "cpu.shares");
      writeFile(dir, "cpu.weight", sharesToWeight(Math.min(shares, 262144)));
    }
    if (isSet(c.quota) || isSet(c.period)) {
      this.need("cpu.max", "cpu.quota/cpu.period");
      // cpu.max is "QUOTA PERIOD"; when only the period changes, keep the quota.
      const quota = isSet(c.quota)
        ? (int(c.quota, "cpu.quota") < 0 ? "max" : c.quota)
        : readFile(dir, "cpu.max").split(" ")[0];
      writeFile(
        dir,
        "cpu.max",
        isSet(c.period) ? `${quota} ${int(c.period, "cpu.period", 1)}` : quota,
      );
    }
    if (isSet(c.burst)) {
      this.need("cpu.max.burst", "cpu.burst");
      writeFile(dir, "cpu.max.burst", int(c.burst, "cpu.burst", 0));
    }
    if (c.idle !== undefined && c.idle !== null) {
      this.need("cpu.idle", "cpu.idle");
      writeFile(dir, "cpu.idle", int(c.idle, "cpu.idle", 0));
    }
  }

  private setIo(b: NonNullable<Resources["blockIO"]>): void {
    const dir = this.dir;
    const weights = deviceList<WeightDevice>(b.weightDevice, "blockIO.weightDevice");
    // BFQ takes blkio's 1..1000 scale as is; io.weight (iocost) has its own scale.
    const bfq = exists(`${dir}/io.bfq.weight`);
    const weightFile = bfq ? "io.bfq.weight" : exists(`${dir}/io.weight`) ? "io.weight" : "";
    const convert = (w: number) => (bfq ? w : blkioToIoWeight(w));
    const noWeight = (field: string) =>
      new Error(
        `cgroup: ${field}: neither io.bfq.weight nor io.weight exists in ${dir} ` +
          "(io controller not enabled, or no BFQ scheduler / iocost)",
      );
    if (isSet(b.weight)) {
      if (!weightFile) throw noWeight("blockIO.weight");
      writeFile(dir, weightFile, convert(int(b.weight, "blockIO.weight", 1)));
    }
    for (const d of weights) {
      if (!isSet(d.weight)) continue;
      if (!weightFile) throw noWeight("blockIO.weightDevice");
      writeFile(dir, weightFile, `${d.major}:${d.minor} ${convert(d.weight)}`);
    }
    for (const [field, , key] of THROTTLES) {
      for (const d of deviceList<ThrottleDevice>(b[field], `blockIO.${field}`)) {
        this.need("io.max", `blockIO.${field}`);
        const rate = int(d.rate, `blockIO.${field}.rate`, 0);
        writeFile(dir, "io.max", `${d.major}:${d.minor} ${key}=${rate || "max"}`);
      }
    }
  }

  frozen(): boolean {
    return readKeyValues(this.dir, "cgroup.events").frozen === 1;
  }

  async freeze(): Promise<void> {
    this.need("cgroup.freeze", "freeze (kernel older than 5.2)");
    writeFile(this.dir, "cgroup.freeze", 1);
    if (!await pollUntil(() => this.frozen(), 5000)) {
      writeFile(this.dir, "cgroup.freeze", 0);
      throw new Error(`cgroup: freezing ${this.dir} timed out; thawed again`);
    }
  }

  async thaw(): Promise<void> {
    this.need("cgroup.freeze", "thaw (kernel older than 5.2)");
    writeFile(this.dir, "cgroup.freeze", 0);
    if (!await pollUntil(() => !this.frozen(), 5000)) {
      throw new Error(`cgroup: thawing ${this.dir} timed out (is an ancestor frozen?)`);
    }
  }

  pids(): number[] {
    return exists(this.dir) ? pidsRecursive(this.dir) : [];
  }

  destroy(): Promise<void> {
    return removeTree(this.dir);
  }

  stats(): CgroupStats {
    const dir = this.dir;
    const num = (file: string) => readNumber(dir, file, UINT64_MAX);
    const cpu = readKeyValues(dir, "cpu.stat");
    const raw = readKeyValues(dir, "memory.stat");
    const usage: MemoryEntry = omitEmpty(
      {
        limit: num("memory.max"),
        usage: num("memory.current"),
        max: num("memory.peak"),
        failcnt: readKeyValues(dir, "memory.events").max ?? 0,
      },
      "usage",
      "max",
    );
    // Reported as memory+swap, like v1's memsw (runc does the same).
    const swapLimit = num("memory.swap.max");
    const swap: MemoryEntry = omitEmpty(
      {
        limit: swapLimit >= UINT64_MAX || usage.limit >= UINT64_MAX
          ? UINT64_MAX
          : swapLimit + usage.limit,
        usage: num("memory.swap.current") + (usage.usage ?? 0),
        max: num("memory.swap.peak"),
        failcnt: readKeyValues(dir, "memory.swap.events").max ?? 0,
      },
      "usage",
      "max",
    );
    const hugetlb: Record<string, HugetlbStats> = {};
    for (const size of hugePageSizes()) {
      if (!exists(`${dir}/hugetlb.${size}.current`)) continue;
      hugetlb[size] = omitEmpty({
        usage: num(`hugetlb.${size}.current`),
        failcnt: readKeyValues(dir, `hugetlb.${size}.events`).max ?? 0,
      }, "usage");
    }
    const zero = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
    return {
      cpu: {
        usage: omitEmpty({
          total: (cpu.usage_usec ?? 0) * 1000,
          kernel: (cpu.system_usec ?? 0) * 1000,
          user: (cpu.user_usec ?? 0) * 1000,
        }, "total"),
        throttling: omitEmpty(
          {
            periods: cpu.nr_periods ?? 0,
            throttledPeriods: cpu.nr_throttled ?? 0,
            throttledTime: (cpu.throttled_usec ?? 0) * 1000,
          },
          "periods",
          "throttledPeriods",
          "throttledTime",
        ),
      },
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
      memory: omitEmpty(
        {
          cache: raw.file ?? 0,
          usage,
          swap,
          kernel: zero(),
          kernelTCP: zero(),
          raw,
        },
        "cache",
        "raw",
      ),
      pids: omitEmpty(
        {
          current: readNumber(dir, "pids.current"),
          limit: readNumber(dir, "pids.max"),
        },
        "current",
        "limit",
      ),
      blkio: this.ioStats(),
      hugetlb,
      intel_rdt: {},
      network_interfaces: null,
    };
  }

  private ioStats(): CgroupStats["blkio"] {
    const bytes: BlkioEntry[] = [], ios: BlkioEntry[] = [];
    const ops: Record<string, [BlkioEntry[], string]> = {
      rbytes: [bytes, "Read"],
      wbytes: [bytes, "Write"],
      dbytes: [bytes, "Discard"],
      rios: [ios, "Read"],
      wios: [ios, "Write"],
      dios: [ios, "Discard"],
    };
    for (const line of (tryRead(this.dir, "io.stat") ?? "").split("\n")) {
      const [dev, ...fields] = line.split(" ");
      if (!dev?.includes(":")) continue;
      const [major, minor] = dev.split(":").map(Number);
      for (const f of fields) {
        const [k, v] = f.split("=");
        const op = ops[k];
        if (op) {
          op[0].push(
            omitEmpty({ major, minor, op: op[1], value: Number(v) }, "major", "minor", "value"),
          );
        }
      }
    }
    return omitEmpty(
      { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios },
      "ioServiceBytesRecursive",
      "ioServicedRecursive",
    );
  }
}
