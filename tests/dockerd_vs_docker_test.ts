/**
 * berth's dockerd against Docker's own (Debian's docker.io 20.10), side by
 * side: the same image (saved from Docker's engine, loaded into berth's), the
 * same `docker run` flags through the same real CLI, and the same probes from
 * inside the container (helpers/inside_view.ts); what the process sees must
 * be the same once what differs between any two runs is masked, and whether
 * the root mount has a peer group (how each engine mounts its layers).
 */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { startDockerd } from "./helpers/dockerd.ts";
import { realDockerdAvailable, startRealDockerd } from "./helpers/real_dockerd.ts";
import { INSIDE_PROBE, normalizeInsideView } from "./helpers/inside_view.ts";

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
            ...["run", "--rm", "--network", "none", ...flags, "busybox", "sh", "-c", INSIDE_PROBE],
          ]);
          assert.equal(r.code, 0, `${flags.join(" ")}: ${r.stderr}`);
          return normalizeInsideView(r.stdout, { rootPeerGroup: true });
        }));
        assert.deepEqual(viaBerth, viaDocker, `flags: ${flags.join(" ")}`);
      }
    } finally {
      await berth.close();
      await docker.close();
    }
  },
});
