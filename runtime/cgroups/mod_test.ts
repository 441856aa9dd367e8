/**
 * Tests of the cgroup layer, on this host's real cgroupfs (they need root).
 * Every test works below /berth-test/<random> of each hierarchy and removes
 * it, and restores any cgroup.subtree_control it changed.
 */

import assert from "node:assert/strict";
import {
  type CgroupLayout,
  type CgroupManager,
  cgroupVersion,
  detectLayout,
  loadCgroupManager,
  newCgroupManager,
  parseLayout,
  primeMigration,
  resolveCgroupPath,
  statsJSON,
  UINT64_MAX,
} from "./mod.ts";
import { containerDeviceRules, DevicePolicy, v1Transition } from "./devices.ts";
import type { Device, DeviceRule } from "../spec/types.ts";
import { assemble, attachedDeviceFilters } from "./ebpf.ts";
import { blkioToIoWeight, sharesToWeight } from "./v2.ts";

const isRoot = Deno.uid() === 0;
const layout = detectLayout();
const unifiedRoot = layout.version === 2 ? layout.root : layout.unified;
const v1Mounts: Record<string, string> = layout.version === 1 ? layout.mounts : {};

const read = (path: string) => Deno.readTextFileSync(path).trim();
const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function testPrefix(): string {
  return `/berth-test/${crypto.randomUUID().slice(0, 8)}`;
}

/** Removes /berth-test/<rand> (and /berth-test if nothing else uses it) everywhere. */
function removeTestParents(m: CgroupManager, prefix: string): void {
  for (const dir of new Set(Object.values(m.paths))) {
    const base = dir.slice(0, dir.indexOf(prefix) + prefix.length);
    for (const d of [base, base.slice(0, base.lastIndexOf("/"))]) {
      try {
        Deno.removeSync(d);
      } catch { /* missing, or still used by another run */ }
    }
  }
}

/** A shell in the cgroup: it waits for a line on stdin, then runs `script`. */
function shell(script: string) {
  const child = new Deno.Command("sh", {
    args: ["-c", `read go; ${script}`],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let output: Promise<Deno.CommandOutput> | undefined;
  let stdinOpen = true;
  const done = () => output ??= child.output();
  const closeStdin = async () => {
    if (stdinOpen) {
      stdinOpen = false;
      await child.stdin.close().catch(() => {});
    }
  };
  return {
    pid: child.pid,
    async go(): Promise<string> {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      stdinOpen = false;
      await w.close();
      return new TextDecoder().decode((await done()).stdout);
    },
    async kill(): Promise<void> {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await closeStdin();
      await done().catch(() => {});
    },
  };
}

/** A character device node with this major/minor in a temporary directory. */
function mknod(major: number, minor: number): string {
  const dir = Deno.makeTempDirSync({ prefix: "berth-cg-" });
  const path = `${dir}/node`;
  const out = new Deno.Command("mknod", { args: [path, "c", String(major), String(minor)] })
    .outputSync();
  assert.ok(out.success, "mknod");
  return path;
}

/** `set` again with a rule for the node (an update): a new process may open it. */
async function allowsKmsgAfterUpdate(m: CgroupManager, node: string): Promise<void> {
  m.set({
    devices: [{ allow: false, access: "rwm" }, {
      allow: true,
      type: "c",
      major: 1,
      minor: 11,
      access: "r",
    }],
  }, { devices: [{ type: "c", path: "/dev/kmsg", major: 1, minor: 11 }] });
  const sh = shell(`(true < ${node}) 2>/dev/null && echo kmsg-ok || echo kmsg-denied`);
  try {
    m.apply(sh.pid);
    assert.equal(await sh.go(), "kmsg-ok\n");
  } finally {
    await sh.kill();
  }
}

// ---- pure functions -----------------------------------------------------------

Deno.test("parseLayout: pure v2, hybrid, comounted v1 and escapes", () => {
  const v2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
  assert.deepEqual(parseLayout(v2), { version: 2, root: "/sys/fs/cgroup" });

  const hybrid = [
    "31 23 0:28 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755",
    "32 31 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
    "33 31 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd",
    "34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
    "35 31 0:32 / /sys/fs/cgroup/memory rw shared:1 - cgroup cgroup rw,memory",
    "36 31 0:33 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio",
    "37 20 0:33 / /mnt/other\\040dir rw - cgroup cgroup rw,freezer",
  ].join("\n");
  const l = parseLayout(hybrid);
  assert.equal(l.version, 1);
  if (l.version !== 1) return;
  assert.equal(l.unified, "/sys/fs/cgroup/unified");
  assert.deepEqual(l.mounts, {
    cpu: "/sys/fs/cgroup/cpu,cpuacct",
    cpuacct: "/sys/fs/cgroup/cpu,cpuacct",
    memory: "/sys/fs/cgroup/memory",
    net_cls: "/sys/fs/cgroup/net_cls,net_prio",
    net_prio: "/sys/fs/cgroup/net_cls,net_prio",
    freezer: "/mnt/other dir",
    "name=systemd": "/sys/fs/cgroup/systemd",
  });
  // Comounted controllers share one directory; the named hierarchy and the
  // hybrid host's cgroup2 are joined too (as runc does).
  const m = newCgroupManager("/a", "x", l);
  assert.equal(m.paths.cpu, "/sys/fs/cgroup/cpu,cpuacct/a");
  assert.equal(m.paths.cpuacct, m.paths.cpu);
  assert.equal(m.paths["name=systemd"], "/sys/fs/cgroup/systemd/a");
  assert.equal(m.paths.unified, "/sys/fs/cgroup/unified/a");

  assert.throws(() => parseLayout("1 2 0:1 / / rw - ext4 /dev/vda rw\n"), /no cgroup filesystem/);
});

Deno.test("cgroupVersion matches the detected layout", () => {
  assert.equal(cgroupVersion(), layout.version);
  if (layout.version === 1) assert.ok(layout.mounts.memory, "v1 without a memory hierarchy?");
});

Deno.test("primeMigration leaves this process in the cgroups it is in", async () => {
  const before = await Deno.readTextFile("/proc/self/cgroup");
  primeMigration();
  // The move runs in the background; give it time to land.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await Deno.readTextFile("/proc/self/cgroup"), before);
});

Deno.test("resolveCgroupPath: default, absolute, relative, and refused paths", () => {
  assert.equal(resolveCgroupPath(undefined, "abc"), "/berth/abc");
  assert.equal(resolveCgroupPath("", "abc"), "/berth/abc");
  assert.equal(resolveCgroupPath("/default/abc", "x"), "/default/abc");
  assert.equal(resolveCgroupPath("default//abc/./", "x"), "/default/abc");
  assert.throws(() => resolveCgroupPath("/a/../../etc", "x"), /"\.\." segments are not allowed/);
  assert.throws(() => resolveCgroupPath("/", "x"), /root cgroup/);
  assert.throws(() => loadCgroupManager({ memory: "/sys/fs/cgroup/memory/../x" }), /invalid/);
  const v2 = newCgroupManager("/a/b", "x", { version: 2, root: "/sys/fs/cgroup" });
  assert.deepEqual(v2.paths, { "": "/sys/fs/cgroup/a/b" });
  assert.equal(loadCgroupManager(v2.paths).version, 2);
});

Deno.test("v2 conversions follow runc", () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(blkioToIoWeight(10), 1);
  assert.equal(blkioToIoWeight(500), 4950);
  assert.equal(blkioToIoWeight(1000), 10000);
});

Deno.test("device rules: v1 semantics, holes refused, minimal v1 transitions", () => {
  const p = DevicePolicy.from([
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
    { allow: true, type: "c", major: 1, minor: 3, access: "m" },
    { allow: true, type: "b", major: 8, minor: null, access: "r" },
    { allow: false, type: "b", major: 8, minor: null, access: "r" },
  ]);
  assert.equal(p.defaultAllow, false);
  assert.deepEqual([...p.exceptions.keys()], ["c 1:3"]);
  assert.equal(p.exceptions.get("c 1:3")!.access, 7);
  // Denying one device inside an allowed wildcard would be silently ignored by v1.
  assert.throws(
    () =>
      DevicePolicy.from([
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: null, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: 3, access: "w" },
      ]),
    /punch a hole/,
  );
  assert.throws(() => DevicePolicy.from([{ allow: true, type: "c", access: "x" }]), /access/);

  // A container's policy: the spec's rules after a deny-all, with its linux.devices.
  const policy = (rules: DeviceRule[], devices: Device[] = []) =>
    DevicePolicy.from(containerDeviceRules([{ allow: false, access: "rwm" }, ...rules], devices));
  // From allow-all: reset then allows. Between whitelists: only the differences.
  const target = policy([]);
  const first = v1Transition("a *:* rwm\n", target);
  assert.deepEqual(first[0], ["devices.deny", "a"]);
  assert.ok(first.some(([f, v]) => f === "devices.allow" && v === "c 1:3 rwm"));
  const list = [...target.exceptions.values()].map((e) =>
    `${e.type} ${e.major < 0 ? "*" : e.major}:${e.minor < 0 ? "*" : e.minor} rwm`.replace(
      / rwm$/,
      " " + ["", "m", "r", "rm", "w", "wm", "rw", "rwm"][e.access],
    )
  ).join("\n");
  assert.deepEqual(v1Transition(list, target), []);
  const more = policy([], [{ type: "c", path: "/dev/kmsg", major: 1, minor: 11 }]);
  // A node in linux.devices gets no access of its own (as runc 1.1): no change.
  assert.deepEqual(v1Transition(list, more), []);
  const withRule = policy([{ allow: true, type: "c", major: 1, minor: 11, access: "r" }]);
  assert.deepEqual(v1Transition(list, withRule), [["devices.allow", "c 1:11 r"]]);
  // A default device the spec lists itself keeps only the spec's access.
  const nullListed = policy([], [{ type: "c", path: "/dev/null", major: 1, minor: 3 }]);
  assert.deepEqual(v1Transition(list, nullListed), [["devices.deny", "c 1:3 rwm"]]);
  assert.deepEqual(v1Transition(list + "\nc 1:11 rw", target), [["devices.deny", "c 1:11 rw"]]);
});

Deno.test("device filter program: one block per exception, default verdict last", () => {
  const prog = assemble(DevicePolicy.from([
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
    { allow: true, type: "c", major: null, minor: null, access: "m" },
  ]));
  // Prologue 6; "c 1:3 rwm": type, major, minor, verdict, exit = 5;
  // "c *:* m": type, mov, and, test, verdict, exit = 6; default 2.
  assert.equal(prog.length, 6 + 5 + 6 + 2);
  assert.deepEqual(prog.at(-2), [0xb7, 0, 0, 0, 0]); // r0 = 0: deny by default
  assert.deepEqual(prog[6], [0x55, 2, 0, 4, 2]); // if type != char: skip the 5-insn block
});

Deno.test("statsJSON prints big counters exactly, like runc", () => {
  assert.equal(
    statsJSON({ a: UINT64_MAX, b: 9223372036854771712, c: 5 }),
    '{"a":18446744073709551615,"b":9223372036854771712,"c":5}',
  );
});

// ---- cgroup v1, on the real hierarchies ------------------------------------------

Deno.test({
  name: "v1: create, set limits, apply, stats, freeze, pids, destroy",
  ignore: !isRoot || layout.version !== 1,
  async fn() {
    const prefix = testPrefix();
    const m = newCgroupManager(`${prefix}/ctr`, "unused");
    assert.equal(m.version, 1);
    const p = m.paths;
    const kmsg = mknod(1, 11);
    const sh = shell(
      `(true < ${kmsg}) 2>/dev/null && echo kmsg-ok || echo kmsg-denied; ` +
        `(true < /dev/null) && echo null-ok; exec sleep 30`,
    );
    try {
      m.create();
      for (const dir of Object.values(p)) assert.ok(exists(dir), dir);
      // cpuset: every new level was filled from its parent, or no task could join.
      assert.notEqual(read(`${p.cpuset}/cpuset.cpus`), "");
      assert.notEqual(read(`${p.cpuset}/cpuset.mems`), "");
      assert.notEqual(read(`${p.cpuset.slice(0, -4)}/cpuset.cpus`), "");

      const blkioWeight = exists(`${p.blkio}/blkio.weight`) ||
        exists(`${p.blkio}/blkio.bfq.weight`);
      m.set({
        devices: [{ allow: false, access: "rwm" }],
        memory: { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20, swappiness: 10 },
        cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, cpus: "0", mems: "0" },
        pids: { limit: 10 },
        ...(blkioWeight ? { blockIO: { weight: 500 } } : {}),
      });
      assert.equal(read(`${p.memory}/memory.limit_in_bytes`), String(64 << 20));
      assert.equal(read(`${p.memory}/memory.soft_limit_in_bytes`), String(32 << 20));
      assert.equal(read(`${p.memory}/memory.swappiness`), "10");
      if (exists(`${p.memory}/memory.memsw.limit_in_bytes`)) {
        assert.equal(read(`${p.memory}/memory.memsw.limit_in_bytes`), String(128 << 20));
        // Lowering below the current limit, then raising above the current memsw:
        // each needs the other order of the two writes.
        m.set({ memory: { limit: 32 << 20, swap: 48 << 20 } }, { skipDevices: true });
        assert.equal(read(`${p.memory}/memory.memsw.limit_in_bytes`), String(48 << 20));
        m.set({ memory: { limit: 256 << 20, swap: 512 << 20 } }, { skipDevices: true });
        assert.equal(read(`${p.memory}/memory.limit_in_bytes`), String(256 << 20));
        assert.equal(read(`${p.memory}/memory.memsw.limit_in_bytes`), String(512 << 20));
      }
      assert.equal(read(`${p.cpu}/cpu.shares`), "512");
      assert.equal(read(`${p.cpu}/cpu.cfs_quota_us`), "50000");
      assert.equal(read(`${p.cpu}/cpu.cfs_period_us`), "100000");
      if (exists(`${p.cpu}/cpu.cfs_burst_us`)) {
        assert.equal(read(`${p.cpu}/cpu.cfs_burst_us`), "1000");
      }
      assert.equal(read(`${p.cpuset}/cpuset.cpus`), "0");
      assert.equal(read(`${p.pids}/pids.max`), "10");
      if (blkioWeight) {
        const f = exists(`${p.blkio}/blkio.weight`) ? "blkio.weight" : "blkio.bfq.weight";
        assert.match(read(`${p.blkio}/${f}`), /\b500\b/);
      } else {
        assert.throws(() => m.set({ blockIO: { weight: 500 } }), /blockIO\.weight/);
      }
      const devices = read(`${p.devices}/devices.list`).split("\n");
      for (const rule of ["c 1:3 rwm", "c *:* m", "b *:* m", "c 136:* rwm"]) {
        assert.ok(devices.includes(rule), `devices.list has ${rule}: ${devices}`);
      }
      assert.ok(!devices.includes("a *:* rwm"));

      // Setting the same rules again (runc update) writes nothing to devices.*.
      m.set({ devices: [{ allow: false, access: "rwm" }] });
      assert.deepEqual(read(`${p.devices}/devices.list`).split("\n"), devices);

      m.apply(sh.pid);
      for (const dir of new Set(Object.values(p))) {
        assert.ok(read(`${dir}/cgroup.procs`).split("\n").includes(String(sh.pid)), dir);
      }
      const out = sh.go();
      await sleep(100); // let the shell run its checks and exec sleep
      assert.deepEqual(m.pids(), [sh.pid]);

      const s = m.stats();
      assert.ok((s.cpu.usage.total ?? 0) > 0, "cpu usage");
      assert.equal(s.cpu.usage.percpu?.length, navigator.hardwareConcurrency);
      assert.ok((s.memory.usage.usage ?? 0) > 0, "memory usage");
      assert.equal(s.memory.usage.limit, 256 << 20);
      assert.ok(s.memory.raw && "rss" in s.memory.raw, "memory.raw is memory.stat");
      assert.deepEqual(s.pids, { current: 1, limit: 10 });
      assert.deepEqual(s.cpuset.cpus, [0]);
      if (!v1Mounts.hugetlb) assert.deepEqual(s.hugetlb, {});
      assert.doesNotThrow(() => JSON.parse(statsJSON(s)));

      await m.freeze();
      assert.equal(read(`${p.freezer}/freezer.state`), "FROZEN");
      assert.equal(m.frozen(), true);
      assert.equal(loadCgroupManager(m.paths).frozen(), true);
      await m.thaw();
      assert.equal(read(`${p.freezer}/freezer.state`), "THAWED");
      assert.equal(m.frozen(), false);

      await sh.kill();
      assert.match(await out.catch(() => ""), /kmsg-denied\nnull-ok/);
      await allowsKmsgAfterUpdate(m, kmsg);
      // The container may have made cgroups of its own: destroy removes them too.
      Deno.mkdirSync(`${p.memory}/nested/deeper`, { recursive: true });
      await m.destroy();
      for (const dir of Object.values(p)) assert.equal(exists(dir), false, dir);
      await m.destroy(); // missing directories are fine
    } finally {
      await sh.kill();
      await m.destroy().catch(() => {});
      removeTestParents(m, prefix);
      Deno.removeSync(kmsg.slice(0, kmsg.lastIndexOf("/")), { recursive: true });
    }
  },
});

Deno.test({
  name: "v1: errors name the field, or the file and the value",
  ignore: !isRoot || layout.version !== 1,
  async fn() {
    const prefix = testPrefix();
    const m = newCgroupManager(`${prefix}/ctr`, "unused");
    try {
      m.create();
      const opts = { skipDevices: true };
      assert.throws(
        () => m.set({ cpu: { cpus: "4095" } }, opts),
        (e: Error) =>
          e.message.startsWith(`cgroup: writing 4095 to ${m.paths.cpuset}/cpuset.cpus: `),
      );
      assert.throws(() => m.set({ unified: { "memory.high": "1" } }, opts), /unified/);
      assert.throws(() => m.set({ memory: { kernel: 1 << 20 } }, opts), /memory\.kernel/);
      assert.throws(() => m.set({ cpu: { shares: 1 << 20 } }, opts), /cpu\.shares.*262144/);
      assert.throws(
        () => m.set({ ...{ bogus: 1 } } as unknown as Parameters<CgroupManager["set"]>[0], opts),
        /linux\.resources\.bogus/,
      );
      assert.throws(
        () => m.set({ hugepageLimits: [{ pageSize: "3MB", limit: 1 }] }, opts),
        /page size "3MB"/,
      );
      if (!v1Mounts.hugetlb) {
        assert.throws(
          () => m.set({ hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }] }, opts),
          /hugetlb controller is not mounted/,
        );
      }
      // pids.limit 0 or -1: no limit.
      m.set({ pids: { limit: -1 } }, opts);
      assert.equal(read(`${m.paths.pids}/pids.max`), "max");
      // A process that exits while destroy() runs: EBUSY is retried.
      const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
      m.apply(child.pid);
      child.kill("SIGKILL");
      await m.destroy();
      await child.status;
      assert.equal(exists(m.paths.memory), false);
    } finally {
      await m.destroy().catch(() => {});
      removeTestParents(m, prefix);
    }
  },
});

// ---- cgroup v2: the real root on a v2 host, the unified mount of a hybrid one ----

Deno.test({
  name: "v2: create, apply, device filter (eBPF), freeze, stats, pids, destroy",
  ignore: !isRoot || !unifiedRoot,
  async fn() {
    const root = unifiedRoot!;
    const v2: CgroupLayout = { version: 2, root };
    const prefix = testPrefix();
    const m = newCgroupManager(`${prefix}/ctr`, "unused", v2);
    const dir = m.paths[""];
    const before = read(`${root}/cgroup.subtree_control`);
    const kmsg = mknod(1, 11);
    const sh = shell(
      `(true < ${kmsg}) 2>/dev/null && echo kmsg-ok || echo kmsg-denied; ` +
        `(true < /dev/null) && echo null-ok; exec sleep 30`,
    );
    try {
      m.create();
      assert.ok(exists(`${dir}/cgroup.procs`));
      m.set({ devices: [{ allow: false, access: "rwm" }] });
      const [first] = attachedDeviceFilters(dir);
      // A second set replaces the program (runc update), it does not stack one more.
      m.set({ devices: [{ allow: false, access: "rwm" }] });
      const now = attachedDeviceFilters(dir);
      assert.equal(now.length, 1);
      assert.notEqual(now[0], first);

      const has = (f: string) => exists(`${dir}/${f}`);
      if (has("hugetlb.2MB.max")) {
        m.set({ hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] }, { skipDevices: true });
        assert.equal(read(`${dir}/hugetlb.2MB.max`), String(4 << 20));
      }
      if (has("pids.max")) {
        m.set({ pids: { limit: 0 } }, { skipDevices: true });
        assert.equal(read(`${dir}/pids.max`), "max");
      } else {
        assert.throws(
          () => m.set({ pids: { limit: 5 } }, { skipDevices: true }),
          /pids\.limit: .*pids\.max does not exist \(the "pids" controller is not enabled/,
        );
      }
      if (has("memory.max")) {
        m.set({ memory: { limit: 64 << 20, swap: 96 << 20 } }, { skipDevices: true });
        assert.equal(read(`${dir}/memory.max`), String(64 << 20));
        if (has("memory.swap.max")) assert.equal(read(`${dir}/memory.swap.max`), String(32 << 20));
      }
      if (has("cpu.weight")) {
        m.set({ cpu: { shares: 1024, quota: 20000 } }, { skipDevices: true });
        assert.equal(read(`${dir}/cpu.weight`), "39");
        assert.equal(read(`${dir}/cpu.max`), "20000 100000");
      }
      assert.throws(
        () => m.set({ cpu: { realtimeRuntime: 1000 } }, { skipDevices: true }),
        /cpu\.realtimeRuntime/,
      );
      assert.throws(
        () => m.set({ memory: { swappiness: 10 } }, { skipDevices: true }),
        /memory\.swappiness/,
      );
      assert.throws(
        () => m.set({ unified: { "../x.y": "1" } }, { skipDevices: true }),
        /invalid key/,
      );
      assert.throws(
        () => m.set({ unified: { "nosuch.file": "1" } }, { skipDevices: true }),
        /nosuch\.file does not exist/,
      );

      m.apply(sh.pid);
      assert.ok(read(`${dir}/cgroup.procs`).split("\n").includes(String(sh.pid)));
      const out = sh.go();
      await sleep(100);
      // A nested cgroup's processes are the container's too.
      Deno.mkdirSync(`${dir}/nested`);
      const inner = new Deno.Command("sleep", { args: ["30"] }).spawn();
      Deno.writeTextFileSync(`${dir}/nested/cgroup.procs`, String(inner.pid));
      try {
        assert.deepEqual(m.pids().sort(), [sh.pid, inner.pid].sort());
        const s = m.stats();
        assert.ok((s.cpu.usage.total ?? 0) > 0, "cpu usage from cpu.stat");
        assert.equal(s.network_interfaces, null);

        await m.freeze();
        assert.equal(read(`${dir}/cgroup.freeze`), "1");
        assert.match(read(`${dir}/cgroup.events`), /^frozen 1$/m);
        assert.equal(m.frozen(), true);
        await m.thaw();
        assert.equal(m.frozen(), false);
      } finally {
        inner.kill("SIGKILL");
        await inner.status;
      }
      await sh.kill();
      assert.match(await out.catch(() => ""), /kmsg-denied\nnull-ok/);
      await allowsKmsgAfterUpdate(m, kmsg);
      await m.destroy();
      assert.equal(exists(dir), false);
    } finally {
      await sh.kill();
      await m.destroy().catch(() => {});
      removeTestParents(m, prefix);
      Deno.removeSync(kmsg.slice(0, kmsg.lastIndexOf("/")), { recursive: true });
      // create() enables controllers in the ancestors: put the host back as it was.
      const now = read(`${root}/cgroup.subtree_control`).split(" ").filter(Boolean);
      const had = new Set(before.split(" "));
      for (const c of now) {
        if (!had.has(c)) Deno.writeTextFileSync(`${root}/cgroup.subtree_control`, `-${c}`);
      }
    }
  },
});
