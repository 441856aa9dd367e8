/**
 * A real Docker engine uses berth's runtime in runc's place: Debian's dockerd
 * (docker.io 20.10 with its containerd 1.6 and containerd-shim-runc-v2, on a
 * temporary socket and root: helpers/real_dockerd.ts) gets berth as a runtime
 * in daemon.json ("runtimes"), and the real Docker CLI runs containers with
 * `--runtime berth`: output and exit codes, a TTY, a detached container that
 * is exec'd into (as another user too), listed by `docker top`, paused,
 * resumed, updated, stopped (SIGKILL after the timeout) and started again, a
 * restarted container's logs, the tightest limits Docker accepts, and what a
 * process sees from inside (status, limits, cgroups, env, /dev, mounts),
 * compared with Docker's own runc in the same engine. The runtime is
 * reached through a wrapper that records every call, so the test knows that
 * the engine really went through berth.
 */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { realDockerdAvailable, startRealDockerd } from "./helpers/real_dockerd.ts";
import { runtimeArgv } from "./helpers/runtime.ts";
import type { CliResult } from "./helpers/dockerd.ts";
import { INSIDE_PROBE, normalizeInsideView } from "./helpers/inside_view.ts";

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

Deno.test({
  name: "Docker's own dockerd runs containers through berth's runtime (--runtime berth)",
  ignore: !realDockerdAvailable(),
  ...T,
  fn: async (t) => {
    let calls = "";
    const engine = await startRealDockerd((dir) => {
      calls = `${dir}/runtime-calls.log`;
      const wrapper = `${dir}/berth-runc`;
      Deno.writeTextFileSync(
        wrapper,
        `#!/bin/sh
echo "$*" >> ${shq(calls)}
export DENO_NO_UPDATE_CHECK=1
exec ${runtimeArgv().map(shq).join(" ")} "$@"
`,
      );
      Deno.chmodSync(wrapper, 0o755);
      return { runtimes: { berth: { path: wrapper } } };
    });
    const why = (r: CliResult) =>
      `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}\n` +
      `--- runtime calls ---\n${readOr(calls)}`;
    const docker = async (args: string[], code = 0) => {
      const r = await engine.docker(args);
      assert.equal(r.code, code, `docker ${args.join(" ")}: ${why(r)}`);
      return r.stdout;
    };
    const run = ["run", "--runtime", "berth", "--network", "none"];
    try {
      await t.step("run: output and exit code", async () => {
        assert.equal(await docker([...run, "--rm", "busybox", "echo", "hello"]), "hello\n");
        await docker([...run, "--rm", "busybox", "sh", "-c", "exit 3"], 3);
        // The engine went through berth: create, start and delete of that container.
        for (const cmd of ["create", "start", "delete"]) {
          assert.match(readOr(calls), new RegExp(`(^| )${cmd} `, "m"), cmd);
        }
      });

      await t.step("run -t: the process's stdio is a pty", async () => {
        assert.match(
          await docker([...run, "--rm", "-t", "busybox", "tty"]),
          /^\/dev\/pts\/\d+\r?\n$/,
        );
      });

      await t.step("a detached container: exec, top, pause, unpause, stop", async () => {
        const id = (await docker([...run, "-d", "busybox", "sleep", "100"])).trim();
        assert.equal(await docker(["exec", id, "echo", "in"]), "in\n");
        await docker(["exec", id, "sh", "-c", "exit 4"], 4);
        assert.match(await docker(["exec", "-t", id, "tty"]), /^\/dev\/pts\/\d+\r?\n$/);
        assert.match(await docker(["top", id]), /sleep 100/);
        await docker(["pause", id]);
        assert.equal(await docker(["inspect", "-f", "{{.State.Status}}", id]), "paused\n");
        await docker(["unpause", id]);
        assert.equal(await docker(["inspect", "-f", "{{.State.Status}}", id]), "running\n");
        // runc update, from the shim.
        await docker(["update", "--memory", "48m", "--memory-swap", "96m", id]);
        assert.equal(
          await docker(["exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]),
          `${48 << 20}\n`,
        );
        assert.equal(await docker(["exec", "-u", "nobody", id, "id", "-u"]), "65534\n");
        // sleep as PID 1 ignores SIGTERM: the engine kills it after the timeout.
        await docker(["stop", "-t", "1", id]);
        assert.equal(await docker(["inspect", "-f", "{{.State.ExitCode}}", id]), "137\n");
        // A restart creates the container in the runtime again; its log spans both runs.
        await docker(["start", id]);
        await docker(["rm", "-f", id]);
        const logged =
          (await docker([...run, "-d", "busybox", "sh", "-c", "echo one; echo two >&2"]))
            .trim();
        await docker(["wait", logged]);
        await docker(["restart", "-t", "1", logged]);
        await docker(["wait", logged]);
        const logs = await engine.docker(["logs", logged]);
        assert.equal(logs.stdout, "one\none\n", why(logs));
        assert.equal(logs.stderr, "two\ntwo\n", why(logs));
        await docker(["rm", logged]);
      });

      await t.step("--cap-add ALL and --device: as with runc", async () => {
        // Not --privileged: Docker 20.10 then asks for every capability it
        // knows, and runc and berth both fail where the host's bounding set
        // lacks one (as on the machines this runs on: no CAP_SYS_RESOURCE).
        const withRuntime = (runtime: string) =>
          docker([
            ...["run", "--runtime", runtime, "--network", "none", "--rm"],
            ...["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--device", "/dev/loop-control"],
            ...["busybox", "sh", "-c", "grep Cap /proc/self/status; ls -l /dev/loop-control"],
          ]);
        const berth = await withRuntime("berth");
        const caps = (out: string) => out.split("\n").filter((l) => l.startsWith("Cap"));
        assert.deepEqual(caps(berth), caps(await withRuntime("runc")));
        assert.match(berth, /^CapEff:\t[0-9a-f]*fe[f]{6}$/m, "all but CAP_SYS_RESOURCE");
        assert.match(berth, /^crw.* 10,\s*237 .*\/dev\/loop-control$/m);
      });

      await t.step("from inside, a container looks as it does with runc", async () => {
        // The same probes under Docker's runc and under berth, in the same
        // engine; what differs between two runs (ids, hostnames, mount, peer
        // group and device numbers, dates) is masked, and mounts are compared as a set.
        const variants = [
          [],
          ["--read-only", "--tmpfs", "/run"],
          ["-u", "1000:1000", "--group-add", "65534", "-w", "/tmp/new", "-e", "A=b c"],
          ["--security-opt", "no-new-privileges", "--oom-score-adj", "500"],
          ["--ulimit", "nproc=100:200", "--shm-size", "8m", "--sysctl", "kernel.msgmax=4096"],
          ["-m", "64m", "--memory-reservation", "32m", "--memory-swap", "100m", "--cpus", "1.5"],
          [
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "--pids-limit",
            "50",
            "--blkio-weight",
            "300",
          ],
          ["--oom-kill-disable", "-m", "32m", "--memory-swappiness", "10"],
          ["--device", "/dev/loop-control:/dev/lc:r", "--device-cgroup-rule", "c 1:9 rwm"],
          ["--pid", "host", "--ipc", "host", "--uts", "host", "--hostname", ""],
        ];
        for (const flags of variants) {
          const [viaRunc, viaBerth] = await Promise.all(
            ["runc", "berth"].map(async (rt) =>
              normalizeInsideView(
                await docker([
                  ...["run", "--rm", "--runtime", rt, "--network", "none", ...flags],
                  ...["busybox", "sh", "-c", INSIDE_PROBE],
                ]),
              )
            ),
          );
          assert.deepEqual(viaBerth, viaRunc, `flags: ${flags.join(" ")}`);
        }
        // And a process started by `docker exec` in a running container.
        const running = await Promise.all(["runc", "berth"].map(async (rt) =>
          (await docker([
            ...["run", "-d", "--runtime", rt, "--network", "none", "--ulimit", "nofile=512"],
            ...["--cap-drop", "NET_RAW", "busybox", "sleep", "100"],
          ])).trim()
        ));
        for (const flags of [[], ["-u", "nobody", "-w", "/tmp", "-e", "X=1"], ["-t"]]) {
          const [viaRunc, viaBerth] = await Promise.all(
            running.map(async (id) =>
              normalizeInsideView(await docker(["exec", ...flags, id, "sh", "-c", INSIDE_PROBE]))
            ),
          );
          assert.deepEqual(viaBerth, viaRunc, `exec ${flags.join(" ")}`);
        }
        await docker(["rm", "-f", ...running]);
      });

      await t.step("the tightest limits Docker accepts", async () => {
        const out = await docker([
          ...[...run, "--rm", "-m", "6m", "--pids-limit", "3", "--ulimit", "nofile=16:16"],
          ...["busybox", "sh", "-c", "ulimit -n; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"],
        ]);
        assert.equal(out, "16\n6291456\n");
      });
    } finally {
      await engine.close();
    }
  },
});

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "(none)";
  }
}
