/**
 * berth's dockerd against Docker's own (Debian's docker.io 20.10), side by
 * side: the same image (saved from Docker's engine, loaded into berth's), the
 * same `docker run` flags through the same real CLI, and the same probes from
 * inside the container; what the process sees must be the same. Masked: what
 * differs between any two runs (ids, hostnames, numbers of mounts, devices
 * and peer groups, dates), and what is a matter of the engine's version
 * rather than of the flags (the lists of masked and read-only paths under
 * /proc and /sys, which grew between Docker releases).
 */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { startDockerd } from "./helpers/dockerd.ts";
import { realDockerdAvailable, startRealDockerd } from "./helpers/real_dockerd.ts";

const PROBE = [
  "grep -E '^(Umask|Uid|Gid|Groups|Cap|NoNewPrivs|Seccomp:)' /proc/self/status",
  "cat /proc/self/limits /proc/self/cgroup /proc/self/oom_score_adj",
  "env | grep -v ^HOSTNAME= | sort; pwd; id; umask",
  "ls /sys/fs/cgroup; ls -la /dev | sed 's/ [A-Z][a-z][a-z] .*:[0-9][0-9] / /'",
  "echo mounts; cut -d' ' -f4- /proc/self/mountinfo | grep -v ' /proc/. \\| /sys/firmware ' | sort",
  "cd /sys/fs/cgroup && sort devices/devices.list && cat memory/memory.limit_in_bytes " +
  "memory/memory.soft_limit_in_bytes memory/memory.memsw.limit_in_bytes memory/memory.swappiness " +
  "cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpuset/cpuset.cpus pids/pids.max 2>&1",
  "true",
].join("; ");

const FLAG_SETS: string[][] = [
  [],
  ["--read-only", "--tmpfs", "/run:size=1m"],
  ["-u", "1000:1000", "--group-add", "65534", "-w", "/tmp/new", "-e", "A=b c"],
  ["--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--security-opt", "no-new-privileges"],
  ["--ulimit", "nofile=100:200", "--oom-score-adj", "300", "--shm-size", "8m"],
  ["-m", "64m", "--memory-reservation", "32m", "--memory-swap", "100m", "--cpus", "1.5"],
  ["--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "50", "--memory-swappiness", "5"],
  ["--device", "/dev/loop-control:/dev/lc:r", "--device-cgroup-rule", "c 1:9 rwm"],
  ["--pid", "host", "--ipc", "host", "--uts", "host"],
  ["--sysctl", "kernel.msgmax=4096", "--hostname", "box", "--domainname", "example.org"],
];

Deno.test({
  name: "berth's dockerd and Docker's give a container the same view, flag by flag",
  ignore: !realDockerdAvailable(),
  ...T,
  fn: async () => {
    const docker = await startRealDockerd();
    const berth = await startDockerd();
    try {
      const saved = `${docker.dir}/image.tar`;
      for (
        const [engine, args] of [
          [docker, ["save", "-o", saved, "busybox:latest"]],
          [berth, ["load", "-i", saved]],
        ] as const
      ) {
        const r = await engine.docker([...args]);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      }
      for (const flags of FLAG_SETS) {
        const [viaDocker, viaBerth] = await Promise.all([docker, berth].map(async (engine) => {
          const r = await engine.docker([
            ...["run", "--rm", "--network", "none", ...flags, "busybox", "sh", "-c", PROBE],
          ]);
          assert.equal(r.code, 0, `${flags.join(" ")}: ${r.stderr}`);
          return normalize(r.stdout);
        }));
        assert.deepEqual(viaBerth, viaDocker, `flags: ${flags.join(" ")}`);
      }
    } finally {
      await berth.close();
      await docker.close();
    }
  },
});

function normalize(out: string): string[] {
  return out
    .replaceAll(/[0-9a-f]{64}/g, "<id>")
    .replaceAll(/\/tmp\/berth-test-[a-z]*dockerd-[^/ ]+/g, "<engine>")
    .split("\n")
    .map((l) =>
      l.replace(/\b\d+:\d+\b/g, "<dev>")
        .replace(/\b(master|shared|propagate_from):\d+/g, "$1:<group>")
        .replace(/ - overlay overlay .*/, " - overlay overlay <layers>")
        // How each engine mounts its layers decides whether the root has a peer group.
        .replace(/^(\/ \/ r[ow],relatime) master:<group>/, "$1")
        // berth mounts the tmpfs read-only, as the spec asks (runc 1.1 leaves it writable).
        .replace(/^(\/ \/sys\/fs\/cgroup) r[ow],(.* - tmpfs tmpfs) r[ow],/, "$1 <ro>,$2 <ro>,")
    );
}
