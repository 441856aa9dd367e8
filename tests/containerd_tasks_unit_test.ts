/**
 * Unit tests of the Tasks service's pure parts: metrics encoding (decoded
 * with protobufjs against proto/cgroups/*), filters, stdio labels, times.
 */
import assert from "node:assert/strict";
// A test-only dependency (proto-loader's own protobufjs), kept out of the import map.
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@7.6.6";
import { encodeV1, encodeV2, metricsAny } from "../daemon/containerd/tasks/metrics.ts";
import { compileFilters } from "../daemon/containerd/tasks/manager.ts";
import { initStdio, parseSize } from "../daemon/containerd/tasks/io.ts";
import { toTimestamp } from "../daemon/containerd/tasks/time.ts";
import { ContainerdError } from "../daemon/containerd/context.ts";
import type { CgroupStats } from "../runtime/cgroups/stats.ts";

const PROTO = new URL("../daemon/containerd/proto/cgroups/", import.meta.url).pathname;

const stats: Partial<CgroupStats> = {
  cpu: {
    usage: { total: 123456789, percpu: [100, 200], kernel: 5000, user: 7000 },
    throttling: { periods: 3 },
  },
  memory: {
    cache: 4096,
    usage: { limit: 2 ** 64, usage: 1048576, max: 2097152, failcnt: 0 },
    swap: { limit: 2 ** 64, usage: 1048576, failcnt: 0 },
    kernel: { limit: 0, usage: 0, failcnt: 0 },
    kernelTCP: { limit: 0, usage: 0, failcnt: 0 },
    raw: { rss: 8192, total_rss: 16384, pgfault: 42, hierarchical_memory_limit: 9000 },
  },
  pids: { current: 3, limit: 100 },
  blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: "Read", value: 512 }] },
  hugetlb: { "2MB": { usage: 0, max: 0, failcnt: 0 } },
};

Deno.test("metrics: cgroup v1 stats decode as io.containerd.cgroups.v1.Metrics", async () => {
  const root = await protobuf.load(`${PROTO}/v1/metrics.proto`);
  const M = root.lookupType("io.containerd.cgroups.v1.Metrics");
  const m = M.toObject(M.decode(encodeV1(stats)), { longs: String }) as any;
  assert.deepEqual(m.pids, { current: "3", limit: "100" });
  assert.equal(m.cpu.usage.total, "123456789");
  assert.deepEqual(m.cpu.usage.perCpu, ["100", "200"]);
  assert.equal(m.cpu.usage.kernel, "5000");
  assert.equal(m.cpu.throttling.periods, "3");
  assert.equal(m.memory.cache, "4096");
  assert.equal(m.memory.rss, "8192");
  assert.equal(m.memory.totalRss, "16384");
  assert.equal(m.memory.pgFault, "42");
  assert.equal(m.memory.hierarchicalMemoryLimit, "9000");
  assert.equal(m.memory.usage.usage, "1048576");
  assert.equal(m.memory.usage.limit, "18446744073709551615");
  assert.equal(m.memory.usage.max, "2097152");
  assert.deepEqual(m.blkio.ioServiceBytesRecursive, [
    { op: "Read", major: "8", value: "512" },
  ]);
  assert.equal(m.hugetlb[0].pagesize, "2MB");
  assert.equal(metricsAny(stats, false).type_url, "io.containerd.cgroups.v1.Metrics");
});

Deno.test("metrics: cgroup v2 stats decode as io.containerd.cgroups.v2.Metrics", async () => {
  const root = await protobuf.load(`${PROTO}/v2/metrics.proto`);
  const M = root.lookupType("io.containerd.cgroups.v2.Metrics");
  const m = M.toObject(M.decode(encodeV2(stats)), { longs: String }) as any;
  assert.deepEqual(m.pids, { current: "3", limit: "100" });
  assert.equal(m.cpu.usageUsec, "123456");
  assert.equal(m.cpu.userUsec, "7");
  assert.equal(m.memory.usage, "1048576");
  assert.equal(m.memory.pgfault, "42");
  assert.equal(m.memory.swapUsage, undefined); // memsw minus memory: no swap used
  assert.equal(metricsAny(stats, true).type_url, "io.containerd.cgroups.v2.Metrics");
});

Deno.test("metrics filters: id==, id!=, alternatives, and a bad filter", () => {
  const f = compileFilters(["id==a", "id==b,namespace!=x"]);
  assert.equal(f({ id: "a", namespace: "x" }), true);
  assert.equal(f({ id: "b", namespace: "x" }), false);
  assert.equal(f({ id: "b", namespace: "y" }), true);
  assert.equal(f({ id: "c", namespace: "y" }), false);
  assert.equal(compileFilters([])({ id: "z" }), true);
  assert.throws(() => compileFilters(["id~=a"]), ContainerdError);
});

Deno.test("stdio: log labels, schemes and sizes", () => {
  const io = { stdin: "", stdout: "/run/x/stdout", stderr: "file:///tmp/err", terminal: false };
  assert.deepEqual(
    initStdio(io, {
      "berth.log.path": "/var/log/c.log",
      "berth.log.max-size": "1m",
      "berth.log.max-file": "3",
    }),
    {
      terminal: false,
      stdout: "/run/x/stdout",
      stderr: "file:///tmp/err",
      log: { path: "/var/log/c.log", maxSize: 1048576, maxFile: 3 },
    },
  );
  assert.equal(parseSize("512k", "x"), 524288);
  assert.equal(parseSize("100", "x"), 100);
  assert.throws(() => parseSize("ten", "x"), /invalid size/);
  assert.throws(() => initStdio({ ...io, stdout: "binary:///bin/logger" }, {}), /binary/);
  assert.throws(() => initStdio(io, { "berth.log.path": "rel.log" }), /absolute/);
});

Deno.test("time: RFC 3339 with nanoseconds to Timestamp", () => {
  assert.deepEqual(toTimestamp("2026-11-22T10:00:01.123456789Z"), {
    seconds: Date.UTC(2026, 10, 22, 10, 0, 1) / 1000,
    nanos: 123456789,
  });
  assert.deepEqual(toTimestamp("1970-01-01T00:00:05Z"), { seconds: 5, nanos: 0 });
  assert.equal(toTimestamp(""), undefined);
});
