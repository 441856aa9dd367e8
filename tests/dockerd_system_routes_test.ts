/**
 * dockerd's system and container routes around the life cycle, through the
 * real Docker CLI (and raw requests where the CLI hides the wire format):
 * `docker events` (since/until, filters, a live stream that ends at its
 * until), `docker stats` (one sample, a stream, a stopped container),
 * `docker update` (the record, the cgroup, the restart policy), `docker
 * system df`, `docker ps -s`, `docker container prune` and `docker system
 * prune`. Plus the pure parts: event filters, timestamps, update merging.
 */
import assert from "node:assert/strict";
import { type Dockerd, startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";
import { TEST_CGROUP_PARENT } from "./helpers/leaks.ts";
import { newCgroupManager } from "../runtime/cgroups/mod.ts";
import { eventMatches } from "../daemon/events_filter.ts";
import type { EngineEvent } from "../daemon/events.ts";
import { getTimestamp, parseGoDuration } from "../daemon/api/timestamps.ts";
import { linuxResources, mergeUpdate } from "../daemon/containers/update.ts";
import { ApiError } from "../daemon/api/errors.ts";

const ZERO_TIME = "0001-01-01T00:00:00Z";
const MiB = 1024 * 1024;
const td = new TextDecoder();

/** Unix seconds with milliseconds, as `docker events --since/--until` passes them on. */
const unixNow = () => (Date.now() / 1000).toFixed(3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ok(d: Dockerd, args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function json<T = any>(d: Dockerd, method: string, path: string): Promise<[number, T]> {
  const res = await d.request(method, path);
  return [res.status, await res.json()];
}

/**
 * The real CLI in the background, killed by `stop()` if still running
 * (SIGKILL: `docker stats NAME` does not end on SIGTERM, with dockerd either).
 */
function spawnDocker(d: Dockerd, args: string[]) {
  const child = new Deno.Command("docker", {
    args: ["-H", d.host, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { DOCKER_CONFIG: `${d.dir}/docker-config` },
  }).spawn();
  const out = child.output();
  return {
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      return await this.wait();
    },
    async wait() {
      const o = await out;
      return { code: o.code, stdout: td.decode(o.stdout), stderr: td.decode(o.stderr) };
    },
  };
}

/** JSON lines of a streamed answer: reads `n` of them, or until the server ends the answer. */
async function streamed(d: Dockerd, path: string, n: number, timeoutMs = 10_000) {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const lines: any[] = [];
  let ended = false;
  try {
    const res = await fetch(`http://docker${path}`, { client, signal: abort.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let buf = "";
    while (lines.length < n) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buf += td.decode(value, { stream: true });
      for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
        lines.push(JSON.parse(buf.slice(0, i)));
      }
    }
    await reader.cancel().catch(() => {});
  } finally {
    clearTimeout(timer);
    client.close();
  }
  return { lines, ended };
}

/** The container's cgroup file, wherever this host's hierarchies are (v1 or v2). */
function cgroupFile(id: string, v1: [string, string], v2: string): string {
  const cg = newCgroupManager(`${TEST_CGROUP_PARENT}/${id}`, id);
  const path = cg.version === 2 ? `${cg.paths[""]}/${v2}` : `${cg.paths[v1[0]]}/${v1[1]}`;
  return Deno.readTextFileSync(path).trim();
}

const idOf = async (d: Dockerd, name: string) =>
  (await ok(d, ["inspect", "--format", "{{.Id}}", name])).trim();

Deno.test(
  "dockerd system routes with the real CLI: events, stats, update, df, prune",
  T,
  async (t) => {
    const d = await startDockerd({ busybox: true });
    try {
      await t.step(
        "events: since/until, filters, JSON lines, live stream ending at until",
        async () => {
          const t0 = unixNow();
          await ok(d, [
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "ev1",
            "-l",
            "team=berth",
            "busybox",
            "sleep",
            "300",
          ]);
          await ok(d, ["rename", "ev1", "ev2"]);
          await ok(d, ["pause", "ev2"]);
          await ok(d, ["unpause", "ev2"]);
          await ok(d, ["exec", "ev2", "true"]);
          await ok(d, ["kill", "ev2"]);
          await ok(d, ["rm", "ev2"]);
          await sleep(5);
          const t1 = unixNow();
          const fmt = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}";
          let out = await ok(d, ["events", "--since", t0, "--until", t1, "--format", fmt]);
          // (trimmed: dockerd's exec actions end with a space when the command has no arguments)
          const lines = (s: string) => s.trim().split("\n").map((l) => l.trimEnd());
          assert.deepEqual(lines(out), [
            "container create ev1",
            "container start ev1",
            "container rename ev2",
            "container pause ev2",
            "container unpause ev2",
            "container exec_create: true ev2",
            "container exec_start: true ev2",
            "container exec_die ev2",
            "container kill ev2",
            "container die ev2",
            "container destroy ev2",
          ]);
          const since = ["events", "--since", t0, "--until", t1];
          out = await ok(d, [...since, "--filter", "event=rename", "--format", "{{json .Actor}}"]);
          const actor = JSON.parse(out);
          assert.deepEqual(actor.Attributes, {
            image: "busybox",
            name: "ev2",
            oldName: "/ev1",
            team: "berth",
          });
          // A container filter is an id or name prefix; event=exec_create matches its prefix.
          out = await ok(d, [
            ...since,
            "--filter",
            `container=${actor.ID.slice(0, 8)}`,
            "--filter",
            "event=exec_create",
            "--filter",
            "event=die",
            "--format",
            "{{.Action}}",
          ]);
          assert.deepEqual(lines(out), ["exec_create: true", "die"]);
          out = await ok(d, [
            ...since,
            "--filter",
            "container=ev",
            "--filter",
            "label=team=berth",
            "--filter",
            "image=busybox",
            "--filter",
            "event=start",
            "--format",
            "{{.Action}}",
          ]);
          assert.equal(out, "start\n");
          out = await ok(d, [
            ...since,
            "--filter",
            "label=team=other",
            "--filter",
            "type=container",
          ]);
          assert.equal(out, "");
          out = await ok(d, [...since, "--filter", "type=image"]);
          assert.equal(out, "");

          // The wire format: Go's field order, sorted attributes, one object per line.
          const res = await d.request("GET", `/events?since=${t0}&until=${t1}`);
          assert.equal(res.headers.get("content-type"), "application/json");
          const first = (await res.text()).split("\n")[0];
          assert.deepEqual(Object.keys(JSON.parse(first)), [
            "status",
            "id",
            "from",
            "Type",
            "Action",
            "Actor",
            "scope",
            "time",
            "timeNano",
          ]);
          assert.match(first, /"Attributes":\{"image":"busybox","name":"ev1","team":"berth"\}/);
          assert.deepEqual(await json(d, "GET", "/events?since=20&until=10"), [400, {
            message: "`since` time (20) cannot be after `until` time (10)",
          }]);
          assert.deepEqual(await json(d, "GET", "/events?since=abc"), [500, {
            message: 'strconv.ParseInt: parsing "abc": invalid syntax',
          }]);

          // Live: a subscriber counts in /info, gets what happens, and ends at its until.
          const started = Date.now();
          const live = spawnDocker(d, [
            "events",
            "--filter",
            "container=live",
            "--until",
            String(Math.ceil(Date.now() / 1000) + 3),
            "--format",
            "{{.Action}}",
          ]);
          let listeners = 0;
          for (let i = 0; i < 50 && listeners === 0; i++) {
            listeners = Number(await ok(d, ["info", "--format", "{{.NEventsListener}}"]));
            if (!listeners) await sleep(50);
          }
          assert.equal(listeners, 1);
          await ok(d, ["run", "--rm", "--network", "none", "--name", "live", "busybox", "true"]);
          const r = await live.wait();
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(r.stdout.trim().split("\n"), ["create", "start", "die", "destroy"]);
          assert.ok(Date.now() - started < 6000, "the stream ended at its until");
          assert.equal((await ok(d, ["info", "--format", "{{.NEventsListener}}"])).trim(), "0");
          // Relative times, as the CLI converts them.
          out = await ok(d, [
            "events",
            "--since",
            "1m",
            "--until",
            "0s",
            "--filter",
            "event=rename",
          ]);
          assert.match(
            out,
            /container rename [0-9a-f]{64} \(image=busybox, name=ev2, oldName=\/ev1/,
          );
        },
      );

      await t.step(
        "stats: --no-stream, the JSON, one-shot, a stream, a stopped container",
        async () => {
          await ok(d, [
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "st",
            "-m",
            "32m",
            "--memory-swap",
            "64m",
            "--pids-limit",
            "20",
            "busybox",
            "sleep",
            "300",
          ]);
          let out = await ok(d, [
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.MemUsage}} {{.PIDs}}",
            "st",
          ]);
          assert.match(out, /^st [\d.]+[KM]iB \/ 32MiB 1\n$/);
          out = await ok(d, ["stats", "--no-stream"]);
          assert.match(out, /^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O/);
          assert.match(out, /\n[0-9a-f]{12} +st +\d+\.\d\d% /);

          const [status, s] = await json(d, "GET", "/containers/st/stats?stream=0");
          assert.equal(status, 200);
          assert.deepEqual(Object.keys(s), [
            "read",
            "preread",
            "pids_stats",
            "blkio_stats",
            "num_procs",
            "storage_stats",
            "cpu_stats",
            "precpu_stats",
            "memory_stats",
            "name",
            "id",
          ]);
          assert.equal(s.name, "/st");
          assert.deepEqual(s.pids_stats, { current: 1, limit: 20 });
          assert.equal(s.memory_stats.limit, 32 * MiB);
          assert.ok(s.memory_stats.usage > 0);
          assert.ok(s.cpu_stats.cpu_usage.total_usage > 0);
          assert.ok(s.cpu_stats.system_cpu_usage > s.precpu_stats.system_cpu_usage, "two samples");
          assert.ok(Date.parse(s.read) - Date.parse(s.preread) >= 900);
          assert.equal(s.cpu_stats.online_cpus, navigator.hardwareConcurrency);
          assert.ok(Array.isArray(s.blkio_stats.io_service_bytes_recursive));

          const [, one] = await json(d, "GET", "/containers/st/stats?stream=0&one-shot=1");
          assert.equal(one.preread, ZERO_TIME);
          assert.equal(one.precpu_stats.cpu_usage.total_usage, 0);
          assert.notEqual(one.read, ZERO_TIME);
          assert.deepEqual(await json(d, "GET", "/containers/st/stats?stream=1&one-shot=1"), [400, {
            message: "cannot have stream=true and one-shot=true",
          }]);
          assert.equal((await json(d, "GET", "/containers/nope/stats"))[0], 404);

          // A stream: one sample a second, each with the previous one as its "pre".
          const { lines } = await streamed(d, "/containers/st/stats", 2);
          assert.equal(lines[0].preread, ZERO_TIME);
          assert.equal(lines[1].preread, lines[0].read);
          assert.deepEqual(lines[1].precpu_stats, lines[0].cpu_stats);

          // `docker stats` streams until it is stopped.
          const live = spawnDocker(d, ["stats", "--format", "{{.Name}} {{.PIDs}}", "st"]);
          await sleep(2500);
          const r = await live.stop();
          assert.match(r.stdout, /st 1/);

          // A container that does not run: zeroed stats; its stream ends when it is removed.
          await ok(d, ["create", "--network", "none", "--name", "stc", "busybox"]);
          const [, z] = await json(d, "GET", "/containers/stc/stats?stream=0");
          assert.equal(z.read, ZERO_TIME);
          assert.deepEqual(z.memory_stats, {});
          assert.deepEqual(z.pids_stats, {});
          assert.equal(z.blkio_stats.io_service_bytes_recursive, null);
          assert.equal(z.name, "/stc");
          out = await ok(d, ["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", "stc"]);
          assert.equal(out, "stc 0B / 0B\n");
          const ending = streamed(d, "/containers/stc/stats", 100);
          await sleep(300);
          await ok(d, ["rm", "stc"]);
          const { lines: zs, ended } = await ending;
          assert.ok(ended && zs.length >= 1 && zs.length <= 3, `${zs.length} frames`);
          assert.equal(zs[0].read, ZERO_TIME);
        },
      );

      await t.step("update: record, cgroup, restart policy, Docker's conflicts", async () => {
        const t0 = unixNow();
        await ok(d, [
          "run",
          "-d",
          "--network",
          "none",
          "--name",
          "up",
          "-m",
          "32m",
          "--memory-swap",
          "128m",
          "busybox",
          "sh",
          "-c",
          // Exits with 3 on SIGTERM (a `docker kill` would be a manual stop, out of the policy).
          "trap 'exit 3' TERM; while true; do sleep 0.1; done",
        ]);
        const id = await idOf(d, "up");
        assert.equal(
          await ok(d, ["update", "--memory", "64m", "--restart", "always", "up"]),
          "up\n",
        );
        const host = JSON.parse(await ok(d, ["inspect", "--format", "{{json .HostConfig}}", "up"]));
        assert.equal(host.Memory, 64 * MiB);
        assert.equal(host.MemorySwap, 128 * MiB);
        assert.deepEqual(host.RestartPolicy, { Name: "always", MaximumRetryCount: 0 });
        const memLimit = () => cgroupFile(id, ["memory", "memory.limit_in_bytes"], "memory.max");
        assert.equal(memLimit(), String(64 * MiB));

        await ok(d, ["update", "--cpus", "0.5", "--pids-limit", "50", "--cpu-shares", "512", "up"]);
        const quota = cgroupFile(id, ["cpu", "cpu.cfs_quota_us"], "cpu.max");
        assert.ok(quota === "50000" || quota === "50000 100000", quota);
        assert.equal(cgroupFile(id, ["pids", "pids.max"], "pids.max"), "50");
        await ok(d, ["update", "--pids-limit", "-1", "up"]);
        assert.equal(cgroupFile(id, ["pids", "pids.max"], "pids.max"), "max");

        // Docker's refusals: the record and the cgroup stay as they were.
        let r = await d.docker(["update", "--memory", "200m", "up"]);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr.trim(),
          `Error response from daemon: Cannot update container ${id}: Memory limit should be ` +
            "smaller than already set memoryswap limit, update the memoryswap at the same time",
        );
        r = await d.docker(["update", "--cpu-quota", "20000", "up"]);
        assert.match(r.stderr, /Conflicting options: CPU Quota cannot be updated as NanoCPUs/);
        r = await d.docker(["update", "--memory", "1m", "up"]);
        assert.match(r.stderr, /Minimum memory limit allowed is 6MB/);
        assert.equal(memLimit(), String(64 * MiB));
        let res = await d.request("POST", "/containers/up/update", { Memory: 200 * MiB });
        assert.equal(res.status, 409);
        res = await d.request("POST", "/containers/up/update", { CpuShares: 256 });
        assert.deepEqual([res.status, await res.json()], [200, { Warnings: [] }]);

        // The new restart policy holds: a container that fails comes back.
        await ok(d, ["exec", "up", "kill", "1"]);
        let state = "";
        for (let i = 0; i < 100; i++) {
          state = await ok(d, ["inspect", "--format", "{{.State.Status}} {{.RestartCount}}", "up"]);
          if (state === "running 1\n") break;
          await sleep(50);
        }
        assert.equal(state, "running 1\n");
        assert.equal(memLimit(), String(64 * MiB), "the next start has the new limit");

        // A stopped container: the record now, the cgroup at its start.
        await ok(d, ["create", "--network", "none", "--name", "up2", "busybox", "sleep", "300"]);
        await ok(d, ["update", "--memory", "48m", "--memory-swap", "96m", "up2"]);
        await ok(d, ["start", "up2"]);
        assert.equal(
          cgroupFile(await idOf(d, "up2"), ["memory", "memory.limit_in_bytes"], "memory.max"),
          String(48 * MiB),
        );
        await ok(d, ["rm", "-f", "up2"]);

        const out = await ok(d, [
          "events",
          "--since",
          t0,
          "--until",
          unixNow(),
          "--filter",
          "event=update",
          "--format",
          "{{.Actor.Attributes.name}}",
        ]);
        assert.deepEqual(out.trim().split("\n"), ["up", "up", "up", "up", "up2"]);
      });

      await t.step("ps -s, system df, container prune, system prune", async () => {
        await ok(d, [
          "run",
          "--network",
          "none",
          "--name",
          "w1",
          "-l",
          "tmp=1",
          "busybox",
          "dd",
          "if=/dev/zero",
          "of=/f",
          "bs=1024",
          "count=100",
        ]);
        await ok(d, ["run", "--network", "none", "--name", "w2", "busybox", "true"]);
        const w1 = await idOf(d, "w1");
        let out = await ok(d, ["ps", "-as", "--filter", "name=w1", "--format", "{{.Size}}"]);
        assert.match(out, /^102kB \(virtual [\d.]+MB\)\n$/);

        // Four containers (st, up running; w1, w2 exited), one image used by all.
        out = await ok(d, ["system", "df"]);
        const rows = out.trim().split("\n").map((l) => l.split(/\s{2,}/));
        assert.deepEqual(rows[0], ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
        assert.deepEqual(rows[1].slice(0, 3), ["Images", "1", "1"]);
        assert.deepEqual(
          rows[2],
          ["Containers", "4", "2", "102.4kB", "102.4kB (100%)"],
          await ok(d, ["ps", "-a"]),
        );
        assert.deepEqual(rows[3], ["Local Volumes", "0", "0", "0B", "0B"]);
        out = await ok(d, ["system", "df", "-v"]);
        assert.match(out, /\nbusybox +latest +[0-9a-f]{12} .* +4\n/);
        assert.match(out, new RegExp(`\n${w1.slice(0, 12)} +busybox .* +0 +102kB `));

        let [status, du] = await json(d, "GET", "/system/df?type=container");
        assert.equal(status, 200);
        assert.equal(du.Images, null);
        assert.equal(du.Containers.find((c: any) => c.Id === w1).SizeRw, 102400);
        [status, du] = await json(d, "GET", "/system/df");
        assert.deepEqual([du.Images.length, du.Images[0].Containers, du.Volumes], [1, 4, []]);
        assert.equal(du.Images[0].SharedSize, 0);
        assert.equal(du.LayersSize, du.Images[0].Size);
        assert.deepEqual(await json(d, "GET", "/system/df?type=bogus"), [400, {
          message: "unknown object type: bogus",
        }]);

        out = await ok(d, ["container", "prune", "-f", "--filter", "until=1h"]);
        assert.equal(out, "Total reclaimed space: 0B\n");
        out = await ok(d, ["container", "prune", "-f", "--filter", "label=tmp=1"]);
        assert.equal(out, `Deleted Containers:\n${w1}\n\nTotal reclaimed space: 102.4kB\n`);
        const [code, body] = await json(
          d,
          "POST",
          `/containers/prune?filters=${encodeURIComponent('{"foo":{"x":true}}')}`,
        );
        assert.deepEqual([code, body], [400, { message: "Invalid filter 'foo'" }]);

        out = await ok(d, ["system", "prune", "-f"]);
        assert.match(out, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/);
        out = await ok(d, ["ps", "-a", "--format", "{{.Names}}"]);
        assert.deepEqual(out.trim().split("\n").sort(), ["st", "up"]);
        out = await ok(d, [
          "events",
          "--since",
          "1m",
          "--until",
          unixNow(),
          "--filter",
          "event=prune",
          "--format",
          "{{.Type}} {{.Actor.Attributes.reclaimed}}",
        ]);
        assert.deepEqual(out.trim().split("\n"), [
          "container 0",
          "container 102400",
          "container 0",
          "network 0",
          "image 0",
          "builder 0",
        ]);
      });
    } finally {
      await d.close();
    }
  },
);

const ev = (over: Partial<EngineEvent> & { attrs?: Record<string, string> }): EngineEvent => ({
  Type: "container",
  Action: "start",
  Actor: { ID: "abc123", Attributes: over.attrs ?? { name: "web", image: "busybox:1.36" } },
  scope: "local",
  time: 0,
  timeNano: 0,
  ...over,
});

Deno.test("event filters match as dockerd's", () => {
  const m = (f: Record<string, string[]>, e = ev({})) => eventMatches(e, f);
  assert.ok(m({}));
  assert.ok(m({ container: ["we"] }), "a name prefix");
  assert.ok(m({ container: ["abc"] }), "an id prefix");
  assert.ok(!m({ container: ["eb"] }));
  assert.ok(
    !m({ container: ["abc"] }, ev({ Type: "image", Actor: { ID: "sha256:ab", Attributes: {} } })),
  );
  assert.ok(m({ image: ["busybox"] }), "without the tag");
  assert.ok(m({ image: ["busybox:1.36"] }));
  assert.ok(!m({ image: ["busybox:latest"] }));
  assert.ok(m({ image: ["busybox"] }, ev({ Type: "image", attrs: { name: "busybox:1" } })));
  assert.ok(m({ event: ["start", "die"], type: ["container"] }));
  assert.ok(!m({ event: ["stop"] }));
  assert.ok(m({ event: ["exec_start"] }, ev({ Action: "exec_start: sh -c true" })));
  assert.ok(!m({ event: ["exec_start", "die"] }, ev({ Action: "exec_die" })));
  assert.ok(!m({ event: ["start"] }, ev({ Action: "start_x" })), "exact otherwise");
  assert.ok(m({ label: ["a", "b=2"] }, ev({ attrs: { a: "1", b: "2" } })));
  assert.ok(!m({ label: ["a", "b=3"] }, ev({ attrs: { a: "1", b: "2" } })));
  assert.ok(m({ scope: ["local"], unknown: ["x"] }));
});

Deno.test("timestamps and durations read as Go's", () => {
  assert.equal(parseGoDuration("1h30m"), 5400e9);
  assert.equal(parseGoDuration("1.5s"), 1.5e9);
  assert.equal(parseGoDuration("-2m"), -120e9);
  assert.equal(parseGoDuration("10"), undefined);
  const now = Date.UTC(2026, 0, 2, 3, 4, 5, 600);
  assert.equal(getTimestamp("10m", now), String(Math.floor(now / 1000) - 600));
  assert.equal(getTimestamp("2026-01-02T03:04:05Z", now), "1767323045.000000000");
  assert.equal(getTimestamp("2026-01-02T03:04:05.25+01:00", now), "1767319445.250000000");
  assert.equal(getTimestamp("1767323045.5", now), "1767323045.5");
  assert.equal(getTimestamp("0", now), "0");
  assert.throws(() => getTimestamp("yesterday", now), /failed to parse value as time or duration/);
});

Deno.test("update: merged as container.UpdateContainer, resources as toContainerdResources", () => {
  const cur = { Memory: 32 * MiB, MemorySwap: 64 * MiB, NanoCpus: 5e8, AutoRemove: false };
  const next = mergeUpdate(cur, { Memory: 48 * MiB, CpuShares: 512, PidsLimit: 0 });
  assert.deepEqual(next, { ...cur, Memory: 48 * MiB, CpuShares: 512, PidsLimit: 0 });
  const conflict = (f: () => unknown, re: RegExp) =>
    assert.throws(
      f,
      (e: unknown) => e instanceof ApiError && e.status === 409 && re.test(e.message),
    );
  conflict(() => mergeUpdate(cur, { Memory: 80 * MiB }), /update the memoryswap/);
  conflict(() => mergeUpdate(cur, { CpuPeriod: 50000 }), /CPU Period cannot be updated/);
  conflict(
    () => mergeUpdate({ AutoRemove: true }, { RestartPolicy: { Name: "always" } }),
    /AutoRemove is enabled/,
  );
  assert.deepEqual(
    linuxResources({ NanoCpus: 1.5e9, Memory: 64 * MiB, MemorySwap: -1, PidsLimit: 0 }),
    {
      cpu: { period: 100000, quota: 150000 },
      memory: { limit: 64 * MiB },
      pids: { limit: -1 },
    },
  );
});
