/**
 * Container scenarios with the real Docker CLI (Debian's docker.io 20.10 at
 * /usr/bin/docker) against berth's dockerd: `docker run` and its options,
 * `run -it` on a pty, the detached life cycle, restart policies, and bad
 * input through raw API requests. The expected output and exit statuses are
 * what the same commands print against Debian's dockerd 20.10
 * (tests/helpers/real_dockerd.ts); where berth differs on purpose, the
 * comment says so. One dockerd per test.
 */
import assert from "node:assert/strict";
import { type CliResult, type Dockerd, startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";
import { TEST_CGROUP_PARENT } from "./helpers/leaks.ts";
import { newCgroupManager } from "../runtime/cgroups/mod.ts";
import { underScript } from "./helpers/pty.ts";

/** The real Docker CLI of the brief: Debian's docker.io 20.10 (API 1.41). */
const DOCKER = "/usr/bin/docker";
const td = new TextDecoder();
const enc = new TextEncoder();

function configDir(d: Dockerd): string {
  const dir = `${d.dir}/docker-config`;
  Deno.mkdirSync(dir, { recursive: true });
  return dir;
}

async function docker(d: Dockerd, args: string[], opts: { stdin?: string } = {}) {
  const child = new Deno.Command(DOCKER, {
    args: ["-H", d.host, ...args],
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { DOCKER_CONFIG: configDir(d) },
    // A CLI waiting for something that never comes fails the test instead of hanging it.
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(enc.encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

const show = (r: CliResult) => `code ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Asserts exit code 0 and returns stdout. */
async function ok(d: Dockerd, args: string[], opts: { stdin?: string } = {}): Promise<string> {
  const r = await docker(d, args, opts);
  assert.equal(r.code, 0, `docker ${args.join(" ")}: ${show(r)}`);
  return r.stdout;
}

/** Asserts a failure with `code` and stderr matching `err`. */
async function fails(d: Dockerd, args: string[], code: number, err: RegExp): Promise<CliResult> {
  const r = await docker(d, args);
  assert.equal(r.code, code, `docker ${args.join(" ")}: ${show(r)}`);
  assert.match(r.stderr, err, `docker ${args.join(" ")}`);
  return r;
}

/** `docker run --rm --network none busybox ARGS...`, expected to succeed. */
const runRm = (d: Dockerd, args: string[], opts: { stdin?: string } = {}) =>
  ok(d, ["run", "--rm", "--network", "none", ...args], opts);

async function until(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const inspect = async (d: Dockerd, name: string, format: string) =>
  (await ok(d, ["inspect", "--format", format, name])).trim();

/** Quotes a word for sh. */
const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The real CLI on a pty made by util-linux `script`, with a 30x100 window
 * (`size`); `interact` sees the output so far and types. Returns the CLI's
 * exit code (script -e passes it on) and everything it printed.
 */
async function onPty(
  d: Dockerd,
  args: string[],
  interact: (out: () => string, type: (s: string) => Promise<void>) => Promise<void>,
  size = "rows 30 cols 100",
): Promise<{ code: number; text: string }> {
  const cmd = [DOCKER, "-H", d.host, ...args].map(shq).join(" ");
  return await underScript(cmd, interact, {
    size,
    env: { DOCKER_CONFIG: configDir(d) },
    timeoutMs: 20_000,
  });
}

async function waitForText(out: () => string, marker: string | RegExp, what: string) {
  try {
    await until(
      what,
      () =>
        Promise.resolve(typeof marker === "string" ? out().includes(marker) : marker.test(out())),
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; output so far: ${JSON.stringify(out())}`);
  }
}

/** This process's bounding set, as /proc/PID/status prints it (what --privileged gets). */
function hostCapBnd(): string {
  return /^CapBnd:\s*(\S+)$/m.exec(Deno.readTextFileSync("/proc/self/status"))![1];
}

/** A loopback port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("docker run: output, exit statuses and options", T, async () => {
  const d = await startDockerd({ busybox: true });
  try {
    // stdout and stderr apart, the container's exit status, --rm removes it.
    let r = await docker(d, [
      "run",
      "--rm",
      "--name",
      "rm3",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, "out\n", "err\n"]);
    assert.equal(await ok(d, ["ps", "-aq", "--filter", "name=rm3"]), "", "--rm removed it");
    assert.equal(await runRm(d, ["busybox", "echo", "hi"]), "hi\n");

    // 125: the CLI's own errors, and the daemon's before the container runs.
    await fails(d, ["run", "--foo", "busybox"], 125, /unknown flag: --foo/);
    // An image that is not here and a registry that does not answer: the pull's reason.
    const port = closedPort();
    await fails(
      d,
      ["run", "--rm", "--network", "none", `127.0.0.1:${port}/nosuch`],
      125,
      new RegExp(
        `Unable to find image '127\\.0\\.0\\.1:${port}/nosuch:latest' locally\\n` +
          `docker: Error response from daemon: Get "https?://127\\.0\\.0\\.1:${port}/v2/": ` +
          `dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused`,
      ),
    );
    // 126: not executable; 127: not found (the runtime's words, as runc's).
    await fails(
      d,
      ["run", "--network", "none", "busybox", "/etc/passwd"],
      126,
      /OCI runtime create failed: .*exec: "\/etc\/passwd": permission denied/,
    );
    await fails(
      d,
      ["run", "--network", "none", "busybox", "nosuchcmd"],
      127,
      /exec: "nosuchcmd": executable file not found in \$PATH/,
    );
    // With --rm the CLI waits for the removal that follows a failed start (as Docker's).
    await fails(
      d,
      ["run", "--rm", "--name", "rm127", "--network", "none", "busybox", "nosuchcmd"],
      127,
      /exec: "nosuchcmd": executable file not found in \$PATH/,
    );
    assert.equal(await ok(d, ["ps", "-aq", "--filter", "name=rm127"]), "", "--rm removed it");

    // Environment: -e NAME=value, -e NAME from the caller, --env-file.
    const envFile = `${d.dir}/env.list`;
    Deno.writeTextFileSync(envFile, "A=1\n# comment\nB=two words\n");
    const child = new Deno.Command(DOCKER, {
      args: [
        "-H",
        d.host,
        ...["run", "--rm", "--network", "none", "-e", "X=1", "-e", "FROM_HOST"],
        ...["--env-file", envFile, "busybox", "env"],
      ],
      env: { DOCKER_CONFIG: configDir(d), FROM_HOST: "yes" },
    });
    const env = td.decode((await child.output()).stdout).split("\n");
    for (const kv of ["X=1", "FROM_HOST=yes", "A=1", "B=two words", "HOME=/root"]) {
      assert.ok(env.includes(kv), `${kv} in ${env}`);
    }
    assert.ok(env.some((kv) => /^HOSTNAME=[0-9a-f]{12}$/.test(kv)), env.join(" "));

    // -w makes a missing directory; -u by name, uid:gid; groups as dockerd
    // gives them: the primary group, the ones listing the user, --group-add.
    assert.equal(await runRm(d, ["-w", "/tmp/new/dir", "busybox", "pwd"]), "/tmp/new/dir\n");
    assert.equal(
      await runRm(d, ["-u", "nobody", "busybox", "id"]),
      "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n",
    );
    assert.equal(
      await runRm(d, ["-u", "berth", "busybox", "id"]),
      "uid=1000(berth) gid=1000(berth) groups=1000(berth),2000(extra)\n",
    );
    assert.equal(
      await runRm(d, ["-u", "1000:2000", "busybox", "id"]),
      "uid=1000(berth) gid=2000(extra) groups=2000(extra)\n",
    );
    assert.equal(
      await runRm(d, ["-u", "0", "--group-add", "extra", "--group-add", "3000", "busybox", "id"]),
      "uid=0(root) gid=0(root) groups=0(root),2000(extra),3000\n",
    );
    await fails(
      d,
      ["run", "--rm", "--network", "none", "-u", "ghost", "busybox", "id"],
      125,
      /unable to find user ghost: no matching entries in passwd file/,
    );

    // --entrypoint replaces the image's and drops its Cmd; "" resets it.
    assert.equal(await runRm(d, ["--entrypoint", "echo", "busybox", "a", "b"]), "a b\n");
    assert.equal(await runRm(d, ["--entrypoint", "", "busybox", "echo", "reset"]), "reset\n");
    await fails(
      d,
      ["run", "--rm", "--network", "none", "--entrypoint", "", "busybox"],
      125,
      /Error response from daemon: No command specified/,
    );

    // --name taken: dockerd's 409 in full.
    const id = (await ok(d, ["create", "--name", "dup", "--network", "none", "busybox"])).trim();
    await fails(
      d,
      ["run", "--name", "dup", "--network", "none", "busybox", "true"],
      125,
      new RegExp(
        `Conflict\\. The container name "/dup" is already in use by container "${id}"\\. ` +
          `You have to remove \\(or rename\\) that container to be able to reuse that name\\.`,
      ),
    );

    // -i: piped stdin reaches the container (and its end ends `cat`); without -i it does not.
    assert.equal(await runRm(d, ["-i", "busybox", "cat"], { stdin: "piped in\n" }), "piped in\n");
    assert.equal(await runRm(d, ["busybox", "cat"], { stdin: "ignored\n" }), "");

    // --network host shares the host's UTS name; the default network is refused clearly.
    assert.equal(
      await ok(d, ["run", "--rm", "--network", "host", "busybox", "hostname"]),
      `${Deno.hostname()}\n`,
    );
    await fails(
      d,
      ["run", "--rm", "busybox", "true"],
      125,
      /network mode "default" is not supported yet: .*use --network none or --network host/,
    );

    // --read-only: the root and what is not a mount refuse writes.
    r = await docker(d, [
      ...["run", "--rm", "--network", "none", "--read-only", "busybox"],
      ...["sh", "-c", "touch /x; touch /tmp/x; touch /dev/shm/ok && echo shm"],
    ]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, "shm\n");
    assert.match(r.stderr, /touch: \/x: Read-only file system\ntouch: \/tmp\/x: Read-only/);

    // Capabilities: Docker's 14 by default, --cap-drop/--cap-add, --privileged.
    const capEff = (args: string[]) =>
      runRm(d, [...args, "busybox", "grep", "CapEff", "/proc/self/status"]);
    assert.equal(await capEff([]), "CapEff:\t00000000a80425fb\n");
    assert.equal(await capEff(["--cap-drop", "chown"]), "CapEff:\t00000000a80425fa\n");
    assert.equal(
      await capEff(["--cap-drop", "ALL", "--cap-add", "NET_ADMIN"]),
      "CapEff:\t0000000000001000\n",
    );
    // All the capabilities this engine holds (Docker asks for every one the
    // kernel knows and fails where the host lacks one, as this one may).
    assert.equal(await capEff(["--privileged"]), `CapEff:\t${hostCapBnd()}\n`);
    await fails(
      d,
      ["run", "--rm", "--network", "none", "--cap-add", "BOGUS", "busybox", "true"],
      125,
      /invalid CapAdd: unknown capability: "CAP_BOGUS"/,
    );

    // Resources, read from the container's own cgroup files (v1 or v2).
    const limits = await runRm(d, [
      ...["--memory", "64m", "--cpus", "0.5", "--pids-limit", "50", "busybox", "sh", "-c"],
      "cd /sys/fs/cgroup; if [ -e memory/memory.limit_in_bytes ]; then " +
      "cat memory/memory.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us pids/pids.max; " +
      "else cat memory.max cpu.max pids.max; fi",
    ]);
    assert.equal(limits.split(/\s+/).join(" ").trim(), "67108864 50000 100000 50");
    // --cgroup-parent: the container's cgroups below the one it names (here below the tests' own).
    const cid = (await ok(d, [
      ...["run", "-d", "--network", "none", "--cgroup-parent", `${TEST_CGROUP_PARENT}/custom`],
      ...["busybox", "sleep", "100"],
    ])).trim();
    const custom = newCgroupManager(`${TEST_CGROUP_PARENT}/custom/${cid}`, cid);
    const pidsDir = custom.version === 2 ? custom.paths[""] : custom.paths.pids;
    assert.ok(Deno.statSync(pidsDir).isDirectory, pidsDir);
    await ok(d, ["rm", "-f", cid]);
    await fails(
      d,
      ["run", "--rm", "--network", "none", "--cgroup-parent", "../../escape", "busybox", "true"],
      125,
      /invalid cgroup parent "\.\.\/\.\.\/escape": "\.\." is not allowed/,
    );
    for (const dir of new Set(Object.values(custom.paths))) {
      try {
        Deno.removeSync(dir.slice(0, dir.lastIndexOf("/"))); // the empty "custom" parent
      } catch { /* already gone */ }
    }

    // A memory limit alone allows as much swap again (memory + swap = 2 × memory), as Docker.
    await ok(d, ["create", "--name", "mem2", "--network", "none", "-m", "64m", "busybox", "true"]);
    assert.equal(
      await ok(d, ["inspect", "--format", "{{.HostConfig.MemorySwap}}", "mem2"]),
      `${128 << 20}\n`,
    );
    await ok(d, ["rm", "mem2"]);
    const hasMemsw = (() => {
      try {
        return Deno.statSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").isFile;
      } catch {
        return false; // cgroup v2, or no swap accounting
      }
    })();
    if (hasMemsw) {
      const memsw = await runRm(d, [
        ...["-m", "64m", "busybox", "cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"],
      ]);
      assert.equal(memsw, `${128 << 20}\n`);
    }
    // The tightest limits Docker accepts: the runtime's own init (a Deno
    // process, tens of megabytes) must not count against them, in run or exec.
    assert.equal(
      await runRm(d, ["-m", "6m", "--pids-limit", "3", "busybox", "echo", "fits"]),
      "fits\n",
    );
    const tight = (await ok(d, [
      ...["run", "-d", "--network", "none", "-m", "6m", "--pids-limit", "3"],
      ...["busybox", "sleep", "100"],
    ])).trim();
    assert.equal(await ok(d, ["exec", tight, "echo", "in"]), "in\n");
    await ok(d, ["rm", "-f", tight]);
    // --device: the node, with the access asked for (here read-only) and no more.
    const lc = "(true < /dev/lc) 2>/dev/null && echo read || echo no-read; " +
      "(true > /dev/lc) 2>/dev/null && echo write || echo no-write";
    assert.equal(
      await runRm(d, [
        ...["--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c"],
        `stat -c '%F %t:%T' /dev/lc; ${lc}`,
      ]),
      "character special file a:ed\nread\nno-write\n",
    );
    // --device-cgroup-rule: access to a node the container makes itself.
    assert.equal(
      await runRm(d, [
        ...["--device-cgroup-rule", "c 10:237 rw", "busybox", "sh", "-c"],
        `mknod /dev/lc c 10 237 && ${lc}`,
      ]),
      "read\nwrite\n",
    );
    await fails(
      d,
      ["run", "--rm", "--network", "none", "--device", "/dev/no-such-device", "busybox", "true"],
      127, // the CLI's code for an error saying "no such file or directory", as with Docker
      /error gathering device information while adding custom device "\/dev\/no-such-device": no such file or directory/,
    );
    // --pid/--ipc/--uts host share the host's namespaces.
    const hostNs = (t: string) => Deno.statSync(`/proc/self/ns/${t}`).ino;
    assert.equal(
      await runRm(d, [
        ...["--pid", "host", "--ipc", "host", "--uts", "host", "busybox", "sh", "-c"],
        "stat -L -c %i /proc/self/ns/pid /proc/self/ns/ipc /proc/self/ns/uts; hostname",
      ]),
      `${hostNs("pid")}\n${hostNs("ipc")}\n${hostNs("uts")}\n${Deno.hostname()}\n`,
    );
    await fails(
      d,
      ["run", "--rm", "--network", "none", "--pid", "container:other", "busybox", "true"],
      125,
      /--pid container:other: joining another container's namespace is not supported yet/,
    );
    // --oom-kill-disable and --memory-swappiness reach the memory cgroup (v1 files).
    if (hasMemsw) {
      assert.equal(
        await runRm(d, [
          ...["-m", "32m", "--oom-kill-disable", "--memory-swappiness", "10", "busybox", "sh"],
          ...[
            "-c",
            "cd /sys/fs/cgroup/memory; grep oom_kill_disable memory.oom_control; cat memory.swappiness",
          ],
        ]),
        "oom_kill_disable 1\n10\n",
      );
    }
    // --security-opt: a seccomp profile file in Docker's format (the CLI sends it inline),
    // systempaths=unconfined, and Docker's 400 for a malformed option.
    const profile = `${d.dir}/profile.json`;
    Deno.writeTextFileSync(
      profile,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
      }),
    );
    assert.equal(
      await runRm(d, [
        ...["--security-opt", `seccomp=${profile}`, "busybox", "sh", "-c"],
        "mkdir /made 2>&1; grep -c ' /proc/keys ' /proc/mounts",
      ]),
      "mkdir: can't create directory '/made': Operation not permitted\n1\n",
    );
    assert.equal(
      await runRm(d, [
        ...["--security-opt", "systempaths=unconfined", "busybox", "sh", "-c"],
        "grep -c ' /proc/keys ' /proc/mounts || true",
      ]),
      "0\n",
    );
    await fails(
      d,
      ["run", "--rm", "--network", "none", "--security-opt", "label=bogus", "busybox", "true"],
      125,
      /invalid --security-opt 1: "label=bogus"/,
    );
    // Per-device block I/O limits, the device named by its host path (v1 files).
    const blockDev = [...Deno.readDirSync("/dev")].map((e) => `/dev/${e.name}`)
      .find((p) => Deno.statSync(p).isBlockDevice);
    if (blockDev && hasMemsw) {
      const rdev = Deno.statSync(blockDev).rdev!;
      const majMin = `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;
      assert.equal(
        await runRm(d, [
          ...["--device-read-bps", `${blockDev}:1mb`, "--device-write-iops", `${blockDev}:100`],
          ...["busybox", "sh", "-c"],
          "cd /sys/fs/cgroup/blkio; cat blkio.throttle.read_bps_device blkio.throttle.write_iops_device",
        ]),
        `${majMin} 1048576\n${majMin} 100\n`,
      );
    }
    // --init needs Docker's docker-init, which berth does not have: refused, not ignored.
    await fails(
      d,
      ["run", "--rm", "--network", "none", "--init", "busybox", "true"],
      125,
      /--init is not supported yet/,
    );
    // --ulimit reaches the process (a low nofile too, which the init itself could not live with).
    assert.equal(
      await runRm(d, ["--ulimit", "nofile=16:32", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"]),
      "16\n32\n",
    );
    await fails(
      d,
      ["run", "--rm", "-m", "5m", "--network", "none", "busybox", "true"],
      125,
      /Minimum memory limit allowed is 6MB/,
    );
    await fails(
      d,
      ["run", "--rm", "-m", "64m", "--memory-swap", "32m", "--network", "none", "busybox", "true"],
      125,
      /Minimum memoryswap limit should be larger than memory limit, see usage/,
    );
    await fails(
      d,
      ["run", "--rm", "--memory-swap", "32m", "--network", "none", "busybox", "true"],
      125,
      /You should always set the Memory limit when using Memoryswap limit, see usage/,
    );

    // --restart with --rm: the CLI refuses it before asking the daemon.
    await fails(
      d,
      ["run", "--rm", "--restart", "always", "--network", "none", "busybox", "true"],
      125,
      /Conflicting options: --restart and --rm/,
    );
  } finally {
    await d.close();
  }
});

Deno.test(
  "mounts: -v and --mount binds, --mount tmpfs, inspect's Mounts, Docker's refusals",
  T,
  async () => {
    const d = await startDockerd({ busybox: true });
    const host = Deno.makeTempDirSync({ prefix: "berth-test-mounts-" });
    try {
      Deno.writeTextFileSync(`${host}/in`, "from the host\n");
      const out = await runRm(d, [
        ...["-v", `${host}:/v:ro`, "--mount", `type=bind,source=${host},target=/m`],
        ...["--mount", "type=tmpfs,target=/t,tmpfs-size=1048576", "busybox", "sh", "-c"],
        "cat /v/in; echo made > /m/out; (echo x > /v/no) 2>/dev/null || echo read-only; " +
        "grep ' /t ' /proc/mounts | cut -d' ' -f3,4",
      ]);
      assert.equal(
        out,
        "from the host\nread-only\ntmpfs rw,nosuid,nodev,noexec,relatime,size=1024k\n",
      );
      assert.equal(Deno.readTextFileSync(`${host}/out`), "made\n");
      const id = (await ok(d, [
        ...["create", "--network", "none", "-v", `${host}:/v:ro`],
        ...["--mount", `type=bind,source=${host},target=/m,readonly`, "busybox", "true"],
      ])).trim();
      const mounts = JSON.parse(await ok(d, ["inspect", "--format", "{{json .Mounts}}", id]));
      assert.deepEqual(mounts, [
        {
          Type: "bind",
          Source: host,
          Destination: "/v",
          Mode: "ro",
          RW: false,
          Propagation: "rprivate",
        },
        {
          Type: "bind",
          Source: host,
          Destination: "/m",
          Mode: "",
          RW: false,
          Propagation: "rprivate",
        },
      ]);
      await ok(d, ["rm", id]);
      const refused: [string[], RegExp][] = [
        [
          ["-v", `${host}:/a`, "--mount", `type=bind,source=${host},target=/a`],
          /Duplicate mount point: \/a/,
        ],
        [
          ["--mount", "type=bind,source=/no/such/dir,target=/x"],
          /bind source path does not exist: \/no\/such\/dir/,
        ],
        [
          ["--mount", "type=volume,source=data,target=/data"],
          /named volumes are not supported yet/,
        ],
        [["--volumes-from", "other"], /--volumes-from is not supported yet/],
      ];
      for (const [flags, err] of refused) {
        await fails(d, ["create", "--network", "none", ...flags, "busybox", "true"], 1, err);
      }
      assert.equal((await ok(d, ["ps", "-aq"])).trim(), "", "nothing was created");
    } finally {
      await d.close();
      Deno.removeSync(host, { recursive: true });
    }
  },
);

Deno.test("docker run -it on a pty: terminal, size, exit code, detach and attach", T, async () => {
  const d = await startDockerd({ busybox: true });
  try {
    let r = await onPty(
      d,
      ["run", "-it", "--rm", "--network", "none", "busybox", "sh"],
      async (out, type) => {
        await waitForText(out, "/ # ", "the shell's prompt");
        await type("stty size; tty; exit 5\n");
      },
    );
    assert.equal(r.code, 5, r.text);
    assert.match(r.text, /\r\n30 100\r\n\/dev\/pts\/0\r\n/, "the outer terminal's size");

    // Ctrl-P Ctrl-Q detaches; the shell keeps running (its stdin stays open).
    r = await onPty(
      d,
      ["run", "-it", "--name", "tt", "--network", "none", "busybox", "sh"],
      async (out, type) => {
        await waitForText(out, "/ # ", "the shell's prompt");
        await type("echo before\n");
        await waitForText(out, "before\r\n", "the echo");
        await type("\x10\x11");
      },
    );
    assert.equal(r.code, 0, r.text);
    await new Promise((res) => setTimeout(res, 300));
    assert.match(await inspect(d, "tt", "{{.State.Status}}"), /^running$/);
    r = await onPty(d, ["attach", "tt"], async (out, type) => {
      // The CLI's resizes make the shell draw its prompt again.
      await waitForText(out, "/ # ", "the prompt redrawn");
      await type("echo after; exit 7\n");
    });
    assert.equal(r.code, 7, r.text);
    assert.match(r.text, /after\r\n/);
    assert.equal(await inspect(d, "tt", "{{.State.Status}} {{.State.ExitCode}}"), "exited 7");
  } finally {
    await d.close();
  }
});

Deno.test(
  "detached containers: ps, logs, top, exec, stop/start/kill/pause, wait, rm",
  T,
  async () => {
    const d = await startDockerd({ busybox: true });
    try {
      const web = (await ok(d, [
        ...["run", "-d", "--name", "web", "--network", "none", "busybox", "sh", "-c"],
        "trap 'echo got TERM; exit 9' TERM; trap 'echo got HUP' HUP; while true; do sleep 0.1; done",
      ])).trim();
      assert.match(web, /^[0-9a-f]{64}$/);
      await ok(d, [
        ...["run", "-d", "--name", "ex3", "--network", "none", "-e", "K=v", "busybox"],
        ...["sh", "-c", "echo a; echo b; echo c; exit 3"],
      ]);
      // wait prints the exit code.
      assert.equal(await ok(d, ["wait", "ex3"]), "3\n");

      // ps: running only, -a, -q, filters, --format (dockerd quotes arguments with spaces).
      assert.match(await ok(d, ["ps", "--format", "{{.Names}} {{.Status}}"]), /^web Up .+\n$/);
      assert.equal(
        await ok(d, ["ps", "-a", "--no-trunc", "--filter", "name=ex3", "--format", "{{.Command}}"]),
        `"sh -c 'echo a; echo b; echo c; exit 3'"\n`,
      );
      assert.equal(await ok(d, ["ps", "-q"]), `${web.slice(0, 12)}\n`);
      assert.equal((await ok(d, ["ps", "-aq"])).trim().split("\n").length, 2);
      assert.match(
        await ok(d, [
          "ps",
          "-a",
          "--filter",
          "status=exited",
          "--format",
          "{{.Names}} {{.Status}}",
        ]),
        /^ex3 Exited \(3\) (Less than a second|\d+ seconds?) ago\n$/,
      );
      assert.equal(
        await ok(d, ["ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}"]),
        "ex3\n",
      );
      assert.equal(
        await ok(d, ["ps", "-a", "--filter", "name=we", "--format", "{{.Names}}"]),
        "web\n",
      );
      assert.equal(
        await ok(d, ["ps", "--filter", "status=running", "--format", "{{.Names}}"]),
        "web\n",
      );
      // The image's PATH, then the container's own variables.
      assert.equal(
        await inspect(
          d,
          "ex3",
          "{{.State.ExitCode}} {{.Config.Env}} {{json .HostConfig.RestartPolicy}}",
        ),
        "3 [PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin K=v] " +
          '{"Name":"no","MaximumRetryCount":0}',
      );

      // logs: all, --tail, -t; -f ends when the container does.
      assert.equal(await ok(d, ["logs", "ex3"]), "a\nb\nc\n");
      assert.equal(await ok(d, ["logs", "--tail", "2", "ex3"]), "b\nc\n");
      assert.match(
        await ok(d, ["logs", "-t", "--tail", "1", "ex3"]),
        /^\d{4}-\d\d-\d\dT[\d:]{8}(\.\d{1,9})?Z c\n$/,
      );
      await ok(d, [
        ...["run", "-d", "--name", "lf", "--network", "none", "busybox"],
        ...["sh", "-c", "echo one; sleep 1; echo two"],
      ]);
      assert.equal(await ok(d, ["logs", "-f", "lf"]), "one\ntwo\n");

      // top: ps's table of the container's processes.
      const top = (await ok(d, ["top", "web"])).split("\n");
      assert.match(top[0], /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
      assert.ok(top.some((l) => /^root\s+\d+\s+\d+.*sh -c trap/.test(l)), top.join("\n"));
      assert.match(
        (await ok(d, ["top", "web", "-o", "pid,args"])).split("\n")[0],
        /^PID\s+COMMAND$/,
      );

      // exec: exit codes, -i, -u, -w, -e, -d, the runtime's errors.
      let r = await docker(d, ["exec", "web", "sh", "-c", "echo in; exit 4"]);
      assert.deepEqual([r.code, r.stdout], [4, "in\n"]);
      assert.equal(await ok(d, ["exec", "-i", "web", "cat"], { stdin: "to exec\n" }), "to exec\n");
      assert.equal(
        await ok(d, ["exec", "-u", "berth", "web", "id"]),
        "uid=1000(berth) gid=1000(berth) groups=1000(berth),2000(extra)\n",
      );
      assert.equal(await ok(d, ["exec", "-u", "65534:65534", "web", "id", "-u"]), "65534\n");
      assert.equal(await ok(d, ["exec", "-w", "/tmp", "web", "pwd"]), "/tmp\n");
      assert.equal(await ok(d, ["exec", "-e", "FOO=bar", "web", "sh", "-c", "echo $FOO"]), "bar\n");
      assert.equal(await ok(d, ["exec", "-d", "web", "sh", "-c", "echo detached > /tmp/d"]), "");
      await until(
        "the detached exec",
        async () => (await docker(d, ["exec", "web", "cat", "/tmp/d"])).stdout === "detached\n",
      );
      // 127 for a missing program (dockerd 20.10 says 126 for both), 126 when it
      // cannot run; the error comes in the output stream, so on stdout (as dockerd's).
      r = await docker(d, ["exec", "web", "nosuch"]);
      assert.equal(r.code, 127, show(r));
      assert.match(
        r.stdout,
        /^OCI runtime exec failed: .*exec: "nosuch": executable file not found in \$PATH: unknown\r?\n$/,
      );
      r = await docker(d, ["exec", "web", "/etc/passwd"]);
      assert.equal(r.code, 126, show(r));
      assert.match(r.stdout, /exec: "\/etc\/passwd": permission denied/);
      await fails(
        d,
        ["exec", "ex3", "true"],
        1,
        /Error response from daemon: Container [0-9a-f]{64} is not running/,
      );
      // --privileged: every capability the engine holds, beyond the container's bounding set.
      assert.equal(
        await ok(d, ["exec", "--privileged", "web", "grep", "CapEff", "/proc/self/status"]),
        `CapEff:\t${hostCapBnd()}\n`,
      );
      assert.equal(
        await ok(d, ["exec", "web", "grep", "CapBnd", "/proc/self/status"]),
        "CapBnd:\t00000000a80425fb\n",
      );
      // -it on a pty: the terminal's size from the start, the exit code, no resize error.
      const pty = await onPty(d, ["exec", "-it", "web", "sh"], async (out, type) => {
        await waitForText(out, "/ # ", "the exec's prompt");
        await type("stty size; exit 2\n");
      }, "rows 33 cols 101");
      assert.equal(pty.code, 2, pty.text);
      assert.match(pty.text, /\r\n33 101\r\n/);
      assert.doesNotMatch(pty.text, /failed to resize tty/);
      // The CLI resizes right after its start request: before the process runs,
      // or after a quick one is gone, neither is an error.
      for (let i = 0; i < 3; i++) {
        const quick = await onPty(d, ["exec", "-t", "web", "sh", "-c", "exit 3"], async () => {});
        assert.equal(quick.code, 3, quick.text);
        assert.doesNotMatch(quick.text, /failed to resize tty/);
      }

      // kill -s: a signal the process handles; bad signals are the client's error.
      await ok(d, ["kill", "-s", "HUP", "web"]);
      await until("the HUP trap", async () => (await ok(d, ["logs", "web"])).includes("got HUP"));
      await fails(d, ["kill", "-s", "BOGUS", "web"], 1, /Invalid signal: BOGUS/);
      await fails(d, ["kill", "-s", "BOGUS", "nonexistent"], 1, /Invalid signal: BOGUS/);
      await fails(
        d,
        ["kill", "ex3"],
        1,
        /Cannot kill container: ex3: Container [0-9a-f]{64} is not running/,
      );

      // pause/unpause: ps says Paused, exec is refused, a second pause is a conflict.
      await ok(d, ["pause", "web"]);
      assert.match(
        await ok(d, ["ps", "--format", "{{.Status}}", "-f", "name=web"]),
        /\(Paused\)\n$/,
      );
      assert.equal(await ok(d, ["ps", "-q", "-f", "status=paused"]), `${web.slice(0, 12)}\n`);
      await fails(
        d,
        ["exec", "web", "true"],
        1,
        /Container web is paused, unpause the container before exec/,
      );
      await fails(d, ["pause", "web"], 1, new RegExp(`Container ${web} is already paused`));
      await ok(d, ["unpause", "web"]);
      await fails(d, ["unpause", "web"], 1, new RegExp(`Container ${web} is not paused`));

      // stop -t: the stop signal (trapped: exit 9); start; restart; start -a of a created one.
      const stopped = Date.now();
      assert.equal(await ok(d, ["stop", "-t", "5", "web"]), "web\n");
      assert.ok(Date.now() - stopped < 4000, "the trap ended it before the timeout");
      assert.equal(await inspect(d, "web", "{{.State.Status}} {{.State.ExitCode}}"), "exited 9");
      assert.match(await ok(d, ["logs", "web"]), /got TERM\n$/);
      await ok(d, ["start", "web"]);
      assert.equal(await inspect(d, "web", "{{.State.Running}}"), "true");
      const pid = await inspect(d, "web", "{{.State.Pid}}");
      await ok(d, ["restart", "-t", "1", "web"]);
      assert.equal(await inspect(d, "web", "{{.State.Running}} {{.RestartCount}}"), "true 0");
      assert.notEqual(await inspect(d, "web", "{{.State.Pid}}"), pid, "a new process");
      await ok(d, [
        ...["create", "--name", "sa", "--network", "none", "busybox"],
        ...["sh", "-c", "echo out; echo err >&2; exit 6"],
      ]);
      r = await docker(d, ["start", "-a", "sa"]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [6, "out\n", "err\n"]);
      // Again, now that it has exited.
      r = await docker(d, ["start", "-a", "sa"]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [6, "out\n", "err\n"]);

      // attach to a running container: its output from then on, and its exit code.
      await ok(d, [
        ...["run", "-d", "--name", "at", "--network", "none", "busybox"],
        ...["sh", "-c", "sleep 1; echo out1; echo err1 >&2; exit 4"],
      ]);
      r = await docker(d, ["attach", "at"]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [4, "out1\n", "err1\n"]);

      // rename; rm of a running container needs -f.
      await ok(d, ["rename", "web", "web2"]);
      await fails(
        d,
        ["rm", "web2"],
        1,
        new RegExp(`You cannot remove a running container ${web}\\. Stop the container before`),
      );
      assert.equal(await ok(d, ["rm", "-f", "web2"]), "web2\n");
      assert.equal(await ok(d, ["ps", "-aq", "-f", "name=web"]), "");
    } finally {
      await d.close();
    }
  },
);

Deno.test("restart policies: on-failure:N, always, unless-stopped, manual stops", T, async () => {
  const d = await startDockerd({ busybox: true });
  try {
    const state = (name: string) =>
      inspect(d, name, "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}");
    await ok(d, [
      ...["run", "-d", "--name", "of", "--network", "none", "--restart", "on-failure:2"],
      ...["busybox", "sh", "-c", "echo run; exit 5"],
    ]);
    for (const policy of ["always", "unless-stopped"]) {
      await ok(d, [
        ...["run", "-d", "--name", policy, "--network", "none", "--restart", policy],
        ...["busybox", "sleep", "100"],
      ]);
    }
    // on-failure:2 runs three times, then stays down with its last exit code.
    await until("on-failure to give up", async () => (await state("of")) === "exited 2 5");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await state("of"), "exited 2 5");
    assert.equal(await ok(d, ["logs", "of"]), "run\nrun\nrun\n");

    for (const policy of ["always", "unless-stopped"]) {
      // A process that dies on its own (here killed from the host) is restarted.
      const pid = Number(await inspect(d, policy, "{{.State.Pid}}"));
      Deno.kill(pid, "SIGKILL");
      await until(`${policy} to restart`, async () => (await state(policy)) === "running 1 0");
      // `docker kill` and `docker stop` are manual stops: no restart (as dockerd).
      await ok(d, ["kill", policy]);
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(await state(policy), "exited 1 137");
      // A start by hand begins a new count.
      await ok(d, ["start", policy]);
      assert.equal(await state(policy), "running 0 0");
      await ok(d, ["stop", "-t", "0", policy]);
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(await state(policy), "exited 0 137");
    }
  } finally {
    await d.close();
  }
});

Deno.test("bad requests get Docker's errors and create nothing", T, async () => {
  const d = await startDockerd({ busybox: true });
  try {
    const snapshots = () => [...Deno.readDirSync(`${d.dir}/data/image/snapshots`)].length;
    const records = () => [...Deno.readDirSync(`${d.dir}/data/containers`)].length;
    const before = { snapshots: snapshots(), records: records() };
    const expect = async (
      method: string,
      path: string,
      body: unknown,
      status: number,
      message: string | RegExp,
    ) => {
      const res = await d.request(method, path, body);
      const text = await res.text();
      assert.equal(res.status, status, `${method} ${path}: ${text}`);
      const got = JSON.parse(text).message;
      if (typeof message === "string") assert.equal(got, message);
      else assert.match(got, message);
    };
    const create = (
      body: unknown,
      query = "",
    ) => ["POST", `/v1.41/containers/create${query}`, body];
    const busybox = { Image: "busybox", Cmd: ["true"], HostConfig: { NetworkMode: "none" } };

    // Malformed JSON (dockerd 20.10 says 500, later ones 400 as here).
    const res = await fetchRaw(d, "/v1.41/containers/create", "{bad");
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /^invalid JSON: /);
    await expect(
      ...create(busybox, "?name=a%20b") as [string, string, unknown],
      400,
      "Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
    );
    await expect(
      ...create({ ...busybox, Image: "nosuch" }) as [string, string, unknown],
      404,
      "No such image: nosuch:latest",
    );
    await expect(
      ...create({ ...busybox, Cmd: undefined, Entrypoint: [""] }) as [string, string, unknown],
      400,
      "No command specified",
    );
    await expect(
      ...create({ ...busybox, HostConfig: { NetworkMode: "none", Memory: 1000 } }) as [
        string,
        string,
        unknown,
      ],
      400,
      "Minimum memory limit allowed is 6MB",
    );
    await expect(
      ...create({ ...busybox, HostConfig: { NetworkMode: "none", CapDrop: ["NOPE"] } }) as [
        string,
        string,
        unknown,
      ],
      400,
      'invalid CapDrop: unknown capability: "CAP_NOPE"',
    );
    await expect(
      ...create({
        ...busybox,
        HostConfig: { NetworkMode: "none", RestartPolicy: { Name: "sometimes" } },
      }) as [string, string, unknown],
      400,
      /^invalid restart policy/,
    );
    // Unknown containers: 404 with dockerd's words, on every route.
    for (
      const [method, path] of [
        ["GET", "/containers/x/json"],
        ["POST", "/containers/x/start"],
        ["POST", "/containers/x/stop"],
        ["POST", "/containers/x/kill"],
        ["POST", "/containers/x/wait"],
        ["DELETE", "/containers/x"],
      ]
    ) {
      await expect(method, `/v1.41${path}`, undefined, 404, "No such container: x");
    }
    // A bad signal is refused before the container is looked up; a bad wait condition too.
    await expect(
      "POST",
      "/v1.41/containers/x/kill?signal=BOGUS",
      undefined,
      400,
      "Invalid signal: BOGUS",
    );
    await expect(
      "POST",
      "/v1.41/containers/x/wait?condition=bogus",
      undefined,
      400,
      'invalid condition: "bogus"',
    );

    // Nothing was left by the failed creates.
    assert.equal(await docker(d, ["ps", "-aq"]).then((r) => r.stdout), "");
    assert.deepEqual({ snapshots: snapshots(), records: records() }, before);
    // And a name a failed create asked for is free.
    await expect(
      ...create({ ...busybox, Cmd: undefined, Entrypoint: [""] }, "?name=free") as [
        string,
        string,
        unknown,
      ],
      400,
      "No command specified",
    );
    const ok201 = await d.request("POST", "/v1.41/containers/create?name=free", busybox);
    assert.equal(ok201.status, 201, await ok201.text());
  } finally {
    await d.close();
  }
});

/** A POST with a raw (not JSON-encoded) body. */
async function fetchRaw(d: Dockerd, path: string, body: string): Promise<Response> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
  try {
    const res = await fetch(`http://docker${path}`, {
      method: "POST",
      client,
      body,
      headers: { "content-type": "application/json" },
    });
    return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
  } finally {
    client.close();
  }
}
