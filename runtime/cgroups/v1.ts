/**
 * The cgroup v1 manager: one directory per hierarchy (controllers mounted
 * together, like cpu,cpuacct, share one), limits in each controller's files.
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
  requireFile,
  tryRead,
  writeFile,
} from "./fs.ts";
import { containerDeviceRules, DevicePolicy, v1Transition } from "./devices.ts";
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
  type BlkioStats,
  type CgroupStats,
  hugePageSizes,
  type HugetlbStats,
  type MemoryEntry,
  omitEmpty,
  parseBlkio,
  parseCpuList,
} from "./stats.ts";

/** USER_HZ: the unit of cpuacct.stat. 100 on every Linux architecture berth runs on. */
const CLOCK_TICKS = 100;

/** Controllers whose directory lists the cgroup's processes, best first (for pids()). */
const PROCS_FROM = ["pids", "freezer", "devices", "memory", "cpu", "cpuacct", "cpuset", "blkio"];

export class V1Manager implements CgroupManager {
  readonly version = 1 as const;

  constructor(readonly paths: Record<string, string>) {}

  /** Every distinct directory (comounted controllers share one). */
  private dirs(): string[] {
    return [...new Set(Object.values(this.paths))];
  }

  private need(controller: string, field: string): string {
    const dir = this.paths[controller];
    if (!dir) {
      throw new Error(`cgroup: ${field}: the ${controller} controller is not mounted (cgroup v1)`);
    }
    return dir;
  }

  create(): void {
    for (const dir of this.dirs()) {
      try {
        Deno.mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new Error(`cgroup: creating ${dir}: ${(e as Error).message}`);
      }
    }
    if (this.paths.cpuset) fillCpuset(this.paths.cpuset);
  }

  apply(pid: number): void {
    for (const dir of this.dirs()) writeFile(dir, "cgroup.procs", pid);
  }

  set(r: Resources, opts: SetOptions = {}): void {
    checkKnownFields(r);
    if (r.unified && Object.keys(r.unified).length) {
      throw new Error(
        "cgroup: unified: cgroup v2 files cannot be set on a cgroup v1 host " +
          `(keys: ${Object.keys(r.unified).join(", ")})`,
      );
    }
    if (r.memory?.kernel) {
      throw new Error(
        "cgroup: memory.kernel: kernel memory limits are deprecated by the kernel and not supported",
      );
    }
    const huge = hugepageLimits(r);
    const rdma = rdmaLimits(r);
    const net = r.network as
      | { classID?: number; priorities?: { name: string; priority: number }[] }
      | undefined;
    const classID = net?.classID ?? undefined;
    const priorities = net?.priorities ?? [];
    // Controllers that are often not mounted: refuse before writing anything.
    const hugeDir = huge.length ? this.need("hugetlb", "hugepageLimits") : "";
    const rdmaDir = rdma.length ? this.need("rdma", "rdma") : "";
    const clsDir = classID !== undefined ? this.need("net_cls", "network.classID") : "";
    const prioDir = priorities.length ? this.need("net_prio", "network.priorities") : "";
    // Computed first: a bad rule list fails before anything is written.
    const devices = opts.skipDevices
      ? undefined
      : DevicePolicy.from(containerDeviceRules(r.devices, opts.devices));
    const devicesDir = devices ? this.need("devices", "devices") : "";

    const cpu = r.cpu;
    if (cpu?.cpus || cpu?.mems) {
      const dir = this.need("cpuset", "cpu.cpus/cpu.mems");
      if (cpu.cpus) writeFile(dir, "cpuset.cpus", cpu.cpus);
      if (cpu.mems) writeFile(dir, "cpuset.mems", cpu.mems);
    }
    if (devices) {
      for (const [file, value] of v1Transition(readFile(devicesDir, "devices.list"), devices)) {
        writeFile(devicesDir, file, value);
      }
    }
    if (r.memory) this.setMemory(r.memory);
    if (cpu) this.setCpu(cpu);
    if (r.pids) {
      const limit = int(r.pids.limit, "pids.limit");
      // "No limit" needs no controller (Docker sends limit 0 by default).
      if (limit > 0 || this.paths.pids) {
        writeFile(this.need("pids", "pids.limit"), "pids.max", limit > 0 ? limit : "max");
      }
    }
    if (r.blockIO) this.setBlkio(r.blockIO);
    for (const h of huge) {
      writeFile(hugeDir, `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit);
      // Reservation accounting (5.7+) must not be laxer than the fault limit.
      const rsvd = `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`;
      if (exists(`${hugeDir}/${rsvd}`)) writeFile(hugeDir, rsvd, h.limit);
    }
    if (classID !== undefined) writeFile(clsDir, "net_cls.classid", classID);
    for (const p of priorities) writeFile(prioDir, "net_prio.ifpriomap", `${p.name} ${p.priority}`);
    for (const [dev, value] of rdma) writeFile(rdmaDir, "rdma.max", `${dev} ${value}`);
  }

  private setMemory(m: NonNullable<Resources["memory"]>): void {
    const field = "memory";
    const limit = isSet(m.limit) ? int(m.limit, "memory.limit") : undefined;
    const swap = isSet(m.swap) ? int(m.swap, "memory.swap") : undefined;
    const anything = limit !== undefined || swap !== undefined || isSet(m.reservation) ||
      (m.swappiness !== undefined && m.swappiness !== null && m.swappiness !== -1) ||
      m.disableOOMKiller || isSet(m.kernelTCP) || m.useHierarchy !== undefined;
    if (!anything) return;
    const dir = this.need("memory", field);
    if (m.checkBeforeUpdate && limit !== undefined && limit > 0) {
      const usage = readNumber(dir, "memory.usage_in_bytes");
      if (usage > limit) {
        throw new Error(
          `cgroup: memory.limit: ${limit} is below the current usage ${usage} (checkBeforeUpdate)`,
        );
      }
    }
    // memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes:
    // pick the order of the two writes that keeps that true in between.
    const memsw = "memory.memsw.limit_in_bytes";
    const big = (v: number) => (v === -1 ? Infinity : v);
    if (swap !== undefined) {
      requireFile(dir, memsw, "memory.swap", "swap accounting is off: boot with swapaccount=1");
      const current = readNumber(dir, "memory.limit_in_bytes");
      if (limit === undefined) writeFile(dir, memsw, swap);
      else if (big(swap) >= big(current)) {
        writeFile(dir, memsw, swap);
        writeFile(dir, "memory.limit_in_bytes", limit);
      } else {
        writeFile(dir, "memory.limit_in_bytes", limit);
        writeFile(dir, memsw, swap);
      }
    } else if (limit !== undefined) {
      // An unlimited memory with a finite memsw would be refused: lift memsw too.
      if (limit === -1 && exists(`${dir}/${memsw}`)) writeFile(dir, memsw, -1);
      writeFile(dir, "memory.limit_in_bytes", limit);
    }
    if (isSet(m.reservation)) {
      writeFile(dir, "memory.soft_limit_in_bytes", int(m.reservation, "memory.reservation"));
    }
    if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness !== -1) {
      if (!Number.isInteger(m.swappiness) || m.swappiness < 0 || m.swappiness > 100) {
        throw new Error(`cgroup: memory.swappiness: ${m.swappiness} is not in 0-100`);
      }
      writeFile(dir, "memory.swappiness", m.swappiness);
    }
    if (m.disableOOMKiller) writeFile(dir, "memory.oom_control", 1);
    if (isSet(m.kernelTCP)) {
      requireFile(dir, "memory.kmem.tcp.limit_in_bytes", "memory.kernelTCP", "no kmem accounting");
      writeFile(dir, "memory.kmem.tcp.limit_in_bytes", int(m.kernelTCP, "memory.kernelTCP"));
    }
    if (m.useHierarchy !== undefined && m.useHierarchy !== null) {
      writeFile(dir, "memory.use_hierarchy", m.useHierarchy ? 1 : 0);
    }
  }

  private setCpu(c: NonNullable<Resources["cpu"]>): void {
    const scalar = isSet(c.shares) || isSet(c.quota) || isSet(c.period) || isSet(c.burst) ||
      isSet(c.realtimePeriod) || isSet(c.realtimeRuntime) ||
      (c.idle !== undefined && c.idle !== null);
    if (!scalar) return;
    const dir = this.need("cpu", "cpu");
    if (isSet(c.shares)) {
      const shares = int(c.shares, "cpu.shares", 0);
      writeFile(dir, "cpu.shares", shares);
      // The kernel clamps silently (2..262144): say so instead.
      const got = readNumber(dir, "cpu.shares");
      if (got !== shares) {
        throw new Error(
          `cgroup: cpu.shares: the kernel set ${got} instead of ${shares} (range 2-262144)`,
        );
      }
    }
    const period = isSet(c.period) ? int(c.period, "cpu.period", 0) : undefined;
    const quota = isSet(c.quota) ? int(c.quota, "cpu.quota") : undefined;
    if (period !== undefined && quota !== undefined) {
      // A new period may be refused against the old quota (or the reverse).
      try {
        writeFile(dir, "cpu.cfs_period_us", period);
        writeFile(dir, "cpu.cfs_quota_us", quota);
      } catch {
        writeFile(dir, "cpu.cfs_quota_us", quota);
        writeFile(dir, "cpu.cfs_period_us", period);
      }
    } else if (period !== undefined) writeFile(dir, "cpu.cfs_period_us", period);
    else if (quota !== undefined) writeFile(dir, "cpu.cfs_quota_us", quota);
    if (isSet(c.burst)) {
      requireFile(dir, "cpu.cfs_burst_us", "cpu.burst", "kernel older than 5.14");
      writeFile(dir, "cpu.cfs_burst_us", int(c.burst, "cpu.burst", 0));
    }
    if (isSet(c.realtimePeriod) || isSet(c.realtimeRuntime)) {
      requireFile(
        dir,
        "cpu.rt_runtime_us",
        "cpu.realtime*",
        "kernel without CONFIG_RT_GROUP_SCHED",
      );
      if (isSet(c.realtimePeriod)) writeFile(dir, "cpu.rt_period_us", c.realtimePeriod);
      if (isSet(c.realtimeRuntime)) writeFile(dir, "cpu.rt_runtime_us", c.realtimeRuntime);
    }
    if (c.idle !== undefined && c.idle !== null) {
      requireFile(dir, "cpu.idle", "cpu.idle", "kernel older than 5.15");
      writeFile(dir, "cpu.idle", int(c.idle, "cpu.idle", 0));
    }
  }

  private setBlkio(b: NonNullable<Resources["blockIO"]>): void {
    const weights = deviceList<WeightDevice>(b.weightDevice, "blockIO.weightDevice");
    const throttles = THROTTLES.map(([field, file]) =>
      [file, deviceList<ThrottleDevice>(b[field], `blockIO.${field}`)] as const
    );
    const anything = isSet(b.weight) || isSet(b.leafWeight) || weights.length ||
      throttles.some(([, l]) => l.length);
    if (!anything) return;
    const dir = this.need("blkio", "blockIO");
    // CFQ had blkio.weight; BFQ (the only proportional scheduler since 5.0) has blkio.bfq.weight.
    const weightFile = ["blkio.weight", "blkio.bfq.weight"].find((f) => exists(`${dir}/${f}`));
    const noWeight = (field: string) =>
      new Error(
        `cgroup: ${field}: neither blkio.weight nor blkio.bfq.weight exists in ${dir} ` +
          "(no CFQ or BFQ I/O scheduler support)",
      );
    if (isSet(b.weight)) {
      if (!weightFile) throw noWeight("blockIO.weight");
      writeFile(dir, weightFile, int(b.weight, "blockIO.weight", 1));
    }
    if (isSet(b.leafWeight)) {
      requireFile(dir, "blkio.leaf_weight", "blockIO.leafWeight", "needs the CFQ scheduler");
      writeFile(dir, "blkio.leaf_weight", b.leafWeight);
    }
    for (const d of weights) {
      if (isSet(d.weight)) {
        if (!weightFile) throw noWeight("blockIO.weightDevice");
        writeFile(dir, `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`);
      }
      if (isSet(d.leafWeight)) {
        requireFile(dir, "blkio.leaf_weight_device", "blockIO.weightDevice", "needs CFQ");
        writeFile(dir, "blkio.leaf_weight_device", `${d.major}:${d.minor} ${d.leafWeight}`);
      }
    }
    for (const [file, list] of throttles) {
      for (const d of list) {
        writeFile(dir, `blkio.throttle.${file}`, `${d.major}:${d.minor} ${int(d.rate, file, 0)}`);
      }
    }
  }

  frozen(): boolean {
    const dir = this.paths.freezer;
    return dir ? tryRead(dir, "freezer.state") === "FROZEN" : false;
  }

  async freeze(): Promise<void> {
    const dir = this.need("freezer", "freeze");
    writeFile(dir, "freezer.state", "FROZEN");
    // A task stuck in an uninterruptible sleep can keep the cgroup in
    // FREEZING; writing FROZEN again retries the tasks that were missed.
    let tries = 0;
    const ok = await pollUntil(() => {
      const state = readFile(dir, "freezer.state");
      if (state === "FROZEN") return true;
      if (++tries % 20 === 0) writeFile(dir, "freezer.state", "FROZEN");
      return false;
    }, 5000);
    if (!ok) {
      writeFile(dir, "freezer.state", "THAWED");
      throw new Error(`cgroup: freezing ${dir} timed out (still FREEZING after 5s); thawed again`);
    }
  }

  async thaw(): Promise<void> {
    const dir = this.need("freezer", "thaw");
    writeFile(dir, "freezer.state", "THAWED");
    const ok = await pollUntil(() => readFile(dir, "freezer.state") === "THAWED", 5000);
    if (!ok) throw new Error(`cgroup: thawing ${dir} timed out`);
  }

  pids(): number[] {
    const ctrl = PROCS_FROM.find((c) => this.paths[c]) ?? Object.keys(this.paths)[0];
    if (!ctrl) return [];
    const dir = this.paths[ctrl];
    return exists(dir) ? pidsRecursive(dir) : [];
  }

  async destroy(): Promise<void> {
    const errors: string[] = [];
    for (const dir of this.dirs()) {
      try {
        await removeTree(dir);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length) throw new Error(errors.join("; "));
  }

  stats(): CgroupStats {
    const p = this.paths;
    const read = (ctrl: string, file: string) => (p[ctrl] ? tryRead(p[ctrl], file) : undefined);
    const num = (ctrl: string, file: string) => (p[ctrl] ? readNumber(p[ctrl], file) : 0);
    const nums = (ctrl: string, file: string) =>
      (read(ctrl, file) ?? "").split(/\s+/).filter(Boolean).map(Number);
    const kv = (ctrl: string, file: string) => (p[ctrl] ? readKeyValues(p[ctrl], file) : {});

    const acct = kv("cpuacct", "cpuacct.stat");
    const tick = 1e9 / CLOCK_TICKS;
    const cpuStat = kv("cpu", "cpu.stat");

    const memEntry = (prefix: string): MemoryEntry =>
      omitEmpty(
        {
          limit: num("memory", `${prefix}.limit_in_bytes`),
          usage: num("memory", `${prefix}.usage_in_bytes`),
          max: num("memory", `${prefix}.max_usage_in_bytes`),
          failcnt: num("memory", `${prefix}.failcnt`),
        },
        "usage",
        "max",
      );
    const raw = kv("memory", "memory.stat");

    const hugetlb: Record<string, HugetlbStats> = {};
    if (p.hugetlb) {
      for (const size of hugePageSizes()) {
        hugetlb[size] = omitEmpty(
          {
            usage: num("hugetlb", `hugetlb.${size}.usage_in_bytes`),
            max: num("hugetlb", `hugetlb.${size}.max_usage_in_bytes`),
            failcnt: num("hugetlb", `hugetlb.${size}.failcnt`),
          },
          "usage",
          "max",
        );
      }
    }

    return {
      cpu: {
        usage: omitEmpty(
          {
            total: num("cpuacct", "cpuacct.usage"),
            percpu: nums("cpuacct", "cpuacct.usage_percpu"),
            percpu_kernel: nums("cpuacct", "cpuacct.usage_percpu_sys"),
            percpu_user: nums("cpuacct", "cpuacct.usage_percpu_user"),
            kernel: (acct.system ?? 0) * tick,
            user: (acct.user ?? 0) * tick,
          },
          "total",
          "percpu",
          "percpu_kernel",
          "percpu_user",
        ),
        throttling: omitEmpty(
          {
            periods: cpuStat.nr_periods ?? 0,
            throttledPeriods: cpuStat.nr_throttled ?? 0,
            throttledTime: cpuStat.throttled_time ?? 0,
          },
          "periods",
          "throttledPeriods",
          "throttledTime",
        ),
      },
      cpuset: omitEmpty(
        {
          cpus: parseCpuList(read("cpuset", "cpuset.cpus")),
          cpu_exclusive: num("cpuset", "cpuset.cpu_exclusive"),
          mems: parseCpuList(read("cpuset", "cpuset.mems")),
          mem_hardwall: num("cpuset", "cpuset.mem_hardwall"),
          mem_exclusive: num("cpuset", "cpuset.mem_exclusive"),
          memory_migrate: num("cpuset", "cpuset.memory_migrate"),
          memory_spread_page: num("cpuset", "cpuset.memory_spread_page"),
          memory_spread_slab: num("cpuset", "cpuset.memory_spread_slab"),
          memory_pressure: num("cpuset", "cpuset.memory_pressure"),
          sched_load_balance: num("cpuset", "cpuset.sched_load_balance"),
          sched_relax_domain_level: num("cpuset", "cpuset.sched_relax_domain_level"),
        },
        "cpus",
        "mems",
      ),
      memory: omitEmpty(
        {
          cache: raw.cache ?? 0,
          usage: memEntry("memory"),
          swap: memEntry("memory.memsw"),
          kernel: memEntry("memory.kmem"),
          kernelTCP: memEntry("memory.kmem.tcp"),
          raw,
        },
        "cache",
        "raw",
      ),
      pids: omitEmpty(
        {
          current: num("pids", "pids.current"),
          limit: num("pids", "pids.max"),
        },
        "current",
        "limit",
      ),
      blkio: this.blkioStats(),
      hugetlb,
      intel_rdt: {},
      network_interfaces: null,
    };
  }

  private blkioStats(): BlkioStats {
    const dir = this.paths.blkio;
    if (!dir) return {};
    const get = (file: string) => parseBlkio(tryRead(dir, file));
    // CFQ's full set, else BFQ's, else what blk-throttle counts (always there).
    const cfq = get("blkio.io_serviced_recursive");
    if (cfq.length) {
      return omitEmpty(
        {
          ioServiceBytesRecursive: get("blkio.io_service_bytes_recursive"),
          ioServicedRecursive: cfq,
          ioQueueRecursive: get("blkio.io_queued_recursive"),
          ioServiceTimeRecursive: get("blkio.io_service_time_recursive"),
          ioWaitTimeRecursive: get("blkio.io_wait_time_recursive"),
          ioMergedRecursive: get("blkio.io_merged_recursive"),
          ioTimeRecursive: get("blkio.time_recursive"),
          sectorsRecursive: get("blkio.sectors_recursive"),
        } as BlkioStats,
        "ioServiceBytesRecursive",
        "ioQueueRecursive",
        "ioServiceTimeRecursive",
        "ioWaitTimeRecursive",
        "ioMergedRecursive",
        "ioTimeRecursive",
        "sectorsRecursive",
      );
    }
    const prefix = exists(`${dir}/blkio.bfq.io_serviced_recursive`) &&
        get("blkio.bfq.io_serviced_recursive").length
      ? "blkio.bfq"
      : "blkio.throttle";
    return omitEmpty(
      {
        ioServiceBytesRecursive: get(`${prefix}.io_service_bytes_recursive`),
        ioServicedRecursive: get(`${prefix}.io_serviced_recursive`),
      } as BlkioStats,
      "ioServiceBytesRecursive",
      "ioServicedRecursive",
    );
  }
}

/**
 * A process cannot join a v1 cpuset cgroup whose cpuset.cpus or cpuset.mems
 * is empty (ENOSPC), and new cpuset cgroups start empty unless the parent
 * has clone_children set: fill every empty level from its parent, top down.
 */
function fillCpuset(dir: string): void {
  const chain: string[] = [];
  for (let d = dir; exists(`${d}/cpuset.cpus`); d = d.slice(0, d.lastIndexOf("/"))) {
    chain.unshift(d);
  }
  for (let i = 1; i < chain.length; i++) {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (readFile(chain[i], file) === "") {
        writeFile(chain[i], file, readFile(chain[i - 1], file));
      }
    }
  }
}
