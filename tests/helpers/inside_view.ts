/**
 * What a container's process sees from inside, as one shell script, and its
 * output with what differs between any two runs masked: the probe the
 * side-by-side tests run under two engines or runtimes and compare.
 */

/** Ids, limits, cgroups, env, /dev, mounts (as a set), cgroup files and device rules (as a set). */
export const INSIDE_PROBE = [
  "grep -E '^(Umask|Uid|Gid|Groups|Cap|NoNewPrivs|Seccomp)' /proc/self/status",
  "cat /proc/self/limits /proc/self/cgroup /proc/self/oom_score_adj",
  "env | grep -v ^HOSTNAME= | sort; pwd; id; umask; ulimit -a",
  "ls /sys/fs/cgroup; ls -la /dev | sed 's/ [A-Z][a-z][a-z] .*:[0-9][0-9] / /'",
  "echo mounts; cut -d' ' -f4- /proc/self/mountinfo | sort",
  "touch /probe 2>&1 || true",
  // The device rules as a set: the kernel lists them in the order written.
  "cd /sys/fs/cgroup && sort devices/devices.list && cat memory/memory.limit_in_bytes " +
  "memory/memory.soft_limit_in_bytes memory/memory.memsw.limit_in_bytes " +
  "memory/memory.swappiness memory/memory.oom_control cpu/cpu.shares cpu/cpu.cfs_quota_us " +
  "cpu/cpu.cfs_period_us cpuset/cpuset.cpus pids/pids.max blkio/blkio.weight 2>&1; true",
].join("; ");

/**
 * The probe's output with ids, engine directories, mount, device and peer
 * group numbers and overlay layers masked. Also masked, as berth's choice:
 * whether /sys/fs/cgroup's tmpfs is read-only (berth mounts it so, as the
 * config asks; runc 1.1 leaves it writable). `rootPeerGroup`: also mask
 * whether the root mount has a peer group, which depends on how each engine
 * mounts its layers.
 */
export function normalizeInsideView(out: string, opts: { rootPeerGroup?: boolean } = {}): string[] {
  return out
    .replaceAll(/[0-9a-f]{64}/g, "<id>")
    .replaceAll(/\/tmp\/berth-test-[a-z]*dockerd-[^/ ]+/g, "<engine>")
    .split("\n")
    .map((l) => {
      l = l.replace(/\b\d+:\d+\b/g, "<dev>")
        .replace(/\b(master|shared|propagate_from):\d+/g, "$1:<group>")
        .replace(/ - overlay overlay .*/, " - overlay overlay <layers>")
        .replace(/^(\/ \/sys\/fs\/cgroup) r[ow],(.* - tmpfs tmpfs) r[ow],/, "$1 <ro>,$2 <ro>,");
      return opts.rootPeerGroup ? l.replace(/^(\/ \/ r[ow],relatime) master:<group>/, "$1") : l;
    });
}
