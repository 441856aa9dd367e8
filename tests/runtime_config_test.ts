/**
 * config.json fields, checked from inside the container by what its process
 * prints: hostname, domainname, env, cwd, user, umask, rlimits, oomScoreAdj,
 * the root, mounts, sysctl, devices, cgroup limits (tight ones too), PID 1.
 */
import assert from "node:assert/strict";
import { runOk, shc, T, withContainer } from "./helpers/fixture.ts";
import { describe, isBerth } from "./helpers/runtime.ts";

Deno.test("hostname", T, async () => {
  const out = await runOk(["hostname"], { mutate: (s) => void (s.hostname = "box-one") });
  assert.equal(out, "box-one\n");
});

// runc 1.1 ignores domainname (it is set from runc 1.2 on); berth sets it.
Deno.test({
  name: "domainname",
  ignore: !isBerth(),
  ...T,
  fn: async () => {
    const out = await runOk(shc("hostname; cat /proc/sys/kernel/domainname"), {
      mutate: (s) => {
        s.hostname = "box-one";
        s.domainname = "example.org";
      },
    });
    assert.equal(out, "box-one\nexample.org\n");
  },
});

Deno.test("env: exactly the config's variables, plus HOME from /etc/passwd", T, async () => {
  const out = await runOk(["env"], {
    mutate: (s) => {
      s.process!.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="];
    },
  });
  const env = out.trim().split("\n").sort();
  assert.deepEqual(env, ["EMPTY=", "FOO=bar baz", "HOME=/root", "PATH=/bin"]);
});

Deno.test("env: HOME from the config is kept", T, async () => {
  const out = await runOk(shc("echo $HOME"), {
    mutate: (s) => {
      s.process!.env!.push("HOME=/somewhere");
    },
  });
  assert.equal(out, "/somewhere\n");
});

Deno.test("cwd, also one that does not exist yet", T, async (t) => {
  await t.step("/tmp", async () => {
    assert.equal(await runOk(["pwd"], { mutate: (s) => void (s.process!.cwd = "/tmp") }), "/tmp\n");
  });
  await t.step("a missing directory is created", async () => {
    const out = await runOk(["pwd"], { mutate: (s) => void (s.process!.cwd = "/new/dir") });
    assert.equal(out, "/new/dir\n");
  });
});

Deno.test("user: uid, gid, additionalGids and umask", T, async (t) => {
  await t.step("1000:1000 with groups 5 and 65534, umask 077", async () => {
    const out = await runOk(shc("id; umask; grep -E '^(Uid|Gid|Groups):' /proc/self/status"), {
      mutate: (s) => {
        s.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o077 };
      },
    });
    const lines = out.split("\n");
    assert.equal(lines[0], "uid=1000(alice) gid=1000(alice) groups=5(tty),65534(nogroup)");
    assert.equal(lines[1], "0077");
    assert.match(out, /^Uid:\t1000\t1000\t1000\t1000$/m);
    assert.match(out, /^Gid:\t1000\t1000\t1000\t1000$/m);
    assert.match(out, /^Groups:\t5 65534 ?$/m);
  });
  await t.step("root with the default umask 0022", async () => {
    const out = await runOk(shc("id; umask"));
    assert.equal(out, "uid=0(root) gid=0(root)\n0022\n");
  });
  await t.step("a uid without a passwd entry", async () => {
    const out = await runOk(shc("id -u; id -g"), {
      mutate: (s) => void (s.process!.user = { uid: 4242, gid: 4343 }),
    });
    assert.equal(out, "4242\n4343\n");
  });
});

Deno.test("rlimits", T, async (t) => {
  await t.step("the default RLIMIT_NOFILE 1024", async () => {
    assert.equal(await runOk(shc("ulimit -n; ulimit -Hn")), "1024\n1024\n");
  });
  await t.step("soft and hard limits set apart", async () => {
    const out = await runOk(shc("ulimit -n; ulimit -Hn; grep 'Max processes' /proc/self/limits"), {
      mutate: (s) => {
        s.process!.rlimits = [
          { type: "RLIMIT_NOFILE", soft: 2048, hard: 4096 },
          { type: "RLIMIT_NPROC", soft: 300, hard: 400 },
        ];
      },
    });
    const [soft, hard, nproc] = out.split("\n");
    assert.equal(soft, "2048");
    assert.equal(hard, "4096");
    assert.match(nproc, /^Max processes\s+300\s+400\s+processes\s*$/);
  });
  await t.step("a low RLIMIT_NOFILE, through create, start and exec", async () => {
    // The limit is the process's: the runtime's init (which holds more files
    // than that) must still be able to take `start`, and exec to join.
    await withContainer({
      args: shc("ulimit -n; sleep 60"),
      mutate: (s) => void (s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 16, hard: 16 }]),
    }, async (ctx) => {
      await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id]);
      await ctx.ok(["start", ctx.id]);
      assert.equal((await ctx.state()).status, "running");
      assert.equal(await ctx.ok(["exec", ctx.id, "sh", "-c", "ulimit -n"]), "16\n");
      await ctx.ok(["kill", ctx.id, "KILL"]);
    });
  });
});

Deno.test("oomScoreAdj", T, async () => {
  const out = await runOk(["cat", "/proc/self/oom_score_adj"], {
    mutate: (s) => void (s.process!.oomScoreAdj = 500),
  });
  assert.equal(out, "500\n");
});

Deno.test("root.readonly: the root cannot be written; false makes it writable", T, async (t) => {
  await t.step("readonly", async () => {
    await withContainer({ args: shc("touch /x") }, async (ctx) => {
      const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
      assert.notEqual(r.code, 0, describe(r));
      assert.match(r.stderr, /Read-only file system/);
    });
  });
  await t.step("writable", async () => {
    await withContainer({
      args: shc("echo hi > /x && cat /x"),
      mutate: (s) => void (s.root!.readonly = false),
    }, async (ctx) => {
      const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
      assert.equal(r.code, 0, describe(r));
      assert.equal(r.stdout, "hi\n");
      assert.equal(Deno.readTextFileSync(`${ctx.bundle.rootfs}/x`), "hi\n");
    });
  });
});

Deno.test("mounts: tmpfs with options, bind mounts rw and ro, proc", T, async () => {
  const host = await Deno.makeTempDir({ prefix: "berth-test-host-" });
  const hostRo = await Deno.makeTempDir({ prefix: "berth-test-host-ro-" });
  try {
    Deno.writeTextFileSync(`${hostRo}/from-host`, "host data\n");
    const script = [
      "grep ' /scratch ' /proc/mounts",
      "echo written > /scratch/f && cat /scratch/f",
      "echo inside > /rw/from-container",
      "cat /ro/from-host",
      "if echo x > /ro/nope 2>/dev/null; then echo ro-writable; else echo ro-refused; fi",
      "grep ' /proc proc ' /proc/mounts | cut -d' ' -f1-3",
    ].join("\n");
    await withContainer({
      args: shc(script),
      mutate: (s) => {
        s.mounts!.push(
          {
            destination: "/scratch",
            type: "tmpfs",
            source: "tmpfs",
            options: ["nosuid", "nodev", "size=1m", "mode=1770"],
          },
          { destination: "/rw", type: "bind", source: host, options: ["rbind", "rw"] },
          { destination: "/ro", type: "none", source: hostRo, options: ["bind", "ro"] },
        );
      },
    }, async (ctx) => {
      const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
      assert.equal(r.code, 0, describe(r));
      const lines = r.stdout.split("\n");
      assert.match(lines[0], /^tmpfs \/scratch tmpfs \S*size=1024k/);
      assert.match(lines[0], /\bnosuid\b/);
      assert.match(lines[0], /\bnodev\b/);
      assert.match(lines[0], /\bmode=1770\b/);
      assert.equal(lines[1], "written");
      assert.equal(lines[2], "host data");
      assert.equal(lines[3], "ro-refused");
      assert.equal(lines[4], "proc /proc proc");
      assert.equal(Deno.readTextFileSync(`${host}/from-container`), "inside\n");
      assert.deepEqual([...Deno.readDirSync(hostRo)].map((e) => e.name), ["from-host"]);
    });
  } finally {
    await Deno.remove(host, { recursive: true });
    await Deno.remove(hostRo, { recursive: true });
  }
});

Deno.test("mounts: the default /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys", T, async () => {
  const out = await runOk(["cat", "/proc/mounts"]);
  const byDest = new Map(
    out.trim().split("\n").map((l) => {
      const [src, dest, type, opts] = l.split(" ");
      return [dest, { src, type, opts: opts.split(",") }];
    }),
  );
  const expect: [string, string, string[]][] = [
    ["/dev", "tmpfs", ["nosuid", "mode=755"]],
    ["/dev/pts", "devpts", ["nosuid", "noexec", "gid=5", "mode=620", "ptmxmode=666"]],
    ["/dev/shm", "tmpfs", ["nosuid", "nodev", "noexec"]],
    ["/dev/mqueue", "mqueue", ["nosuid", "nodev", "noexec"]],
    ["/sys", "sysfs", ["ro", "nosuid", "nodev", "noexec"]],
    ["/proc", "proc", []],
  ];
  for (const [dest, type, opts] of expect) {
    const m = byDest.get(dest);
    assert.ok(m, `${dest} is mounted: ${out}`);
    assert.equal(m.type, type, dest);
    for (const o of opts) assert.ok(m.opts.includes(o), `${dest} has ${o}: ${m.opts}`);
  }
  assert.ok(byDest.get("/")!.opts.includes("ro"), "the root is read-only");
});

Deno.test("default devices and /dev symlinks", T, async () => {
  const script = [
    "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done",
    "for l in ptmx fd stdin stdout stderr; do echo /dev/$l $(readlink /dev/$l); done",
    "echo data > /dev/null && echo null-ok",
    "head -c 4 /dev/zero | wc -c",
    "head -c 16 /dev/urandom | wc -c",
    "if echo x > /dev/full 2>/dev/null; then echo full-accepts; else echo full-refuses; fi",
  ].join("\n");
  const out = await runOk(shc(script));
  assert.equal(
    out,
    [
      "/dev/null character special file 1:3 666",
      "/dev/zero character special file 1:5 666",
      "/dev/full character special file 1:7 666",
      "/dev/random character special file 1:8 666",
      "/dev/urandom character special file 1:9 666",
      "/dev/tty character special file 5:0 666",
      "/dev/ptmx pts/ptmx",
      "/dev/fd /proc/self/fd",
      "/dev/stdin /proc/self/fd/0",
      "/dev/stdout /proc/self/fd/1",
      "/dev/stderr /proc/self/fd/2",
      "null-ok",
      "4",
      "16",
      "full-refuses",
      "",
    ].join("\n"),
  );
});

Deno.test("linux.devices: a device node made and allowed by the config", T, async (t) => {
  await t.step("/dev/mynull (c 1:3) with its cgroup rule", async () => {
    const out = await runOk(
      shc("stat -c '%F %t:%T %a %u:%g' /dev/mynull; echo x > /dev/mynull && echo written"),
      {
        mutate: (s) => {
          s.linux!.devices = [
            { type: "c", path: "/dev/mynull", major: 1, minor: 3, fileMode: 0o620, uid: 0, gid: 5 },
          ];
          s.linux!.resources!.devices!.push({
            allow: true,
            type: "c",
            major: 1,
            minor: 3,
            access: "rwm",
          });
        },
      },
    );
    assert.equal(out, "character special file 1:3 620 0:5\nwritten\n");
  });
  // loop-control (c 10:237) opens for anyone the devices cgroup lets through.
  const probe = "(true < /dev/lc) 2>/dev/null && echo read || echo no-read; " +
    "(true > /dev/lc) 2>/dev/null && echo write || echo no-write";
  await t.step("a node in linux.devices gets no access of its own (as runc)", async () => {
    const out = await runOk(shc(`stat -c '%F %t:%T' /dev/lc; ${probe}`), {
      mutate: (s) =>
        void (s.linux!.devices = [{ type: "c", path: "/dev/lc", major: 10, minor: 237 }]),
    });
    assert.equal(out, "character special file a:ed\nno-read\nno-write\n");
  });
  await t.step("its rule's access only: read-only", async () => {
    const out = await runOk(shc(probe), {
      mutate: (s) => {
        s.linux!.devices = [{ type: "c", path: "/dev/lc", major: 10, minor: 237 }];
        s.linux!.resources!.devices!.push({
          allow: true,
          type: "c",
          major: 10,
          minor: 237,
          access: "r",
        });
      },
    });
    assert.equal(out, "read\nno-write\n");
  });
});

Deno.test("sysctl: namespaced keys are set in the container only", T, async () => {
  const out = await runOk(
    shc("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced"),
    {
      mutate: (s) => {
        s.linux!.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1" };
      },
    },
  );
  assert.equal(out, "1\n1\n");
  // The host's values are untouched (they are 0 on a default host).
  assert.equal(Deno.readTextFileSync("/proc/sys/kernel/shm_rmid_forced"), "0\n");
});

Deno.test("cgroup limits are visible from inside the container", T, async () => {
  const script = [
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    "cat /sys/fs/cgroup/pids/pids.max",
    "cat /sys/fs/cgroup/cpu/cpu.shares",
  ].join("; ");
  await withContainer({
    args: shc(script),
    mutate: (s) => {
      s.linux!.resources!.memory = { limit: 64 * 1024 * 1024 };
      s.linux!.resources!.pids = { limit: 50 };
      s.linux!.resources!.cpu = { shares: 512 };
    },
  }, async (ctx) => {
    const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
    assert.equal(r.code, 0, describe(r));
    assert.equal(r.stdout, "67108864\n50\n512\n");
  });
});

Deno.test("tight limits: 6 MB of memory (Docker's minimum) and 3 pids", T, async () => {
  // The runtime's init (for berth a Deno process of tens of megabytes and
  // several threads) must not count against the container's limits.
  await withContainer({
    args: ["sleep", "60"],
    mutate: (s) => {
      s.linux!.resources!.memory = { limit: 6 * 1024 * 1024 };
      s.linux!.resources!.pids = { limit: 3 };
    },
  }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    assert.equal((await ctx.state()).status, "running");
    const r = await ctx.rt([
      "exec",
      ctx.id,
      "sh",
      "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
    ]);
    assert.equal(r.code, 0, describe(r));
    assert.equal(r.stdout, "6291456\n3\n");
    await ctx.ok(["kill", ctx.id, "KILL"]);
  });
});

Deno.test("the container's process is PID 1 of its own PID namespace", T, async () => {
  const out = await runOk(
    shc("echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; ps -o pid,args; true"),
  );
  const lines = out.split("\n");
  assert.equal(lines[0], "1");
  assert.match(lines[1], /^sh -c /);
  // Only the shell and ps exist in the namespace.
  const procs = lines.slice(3).filter(Boolean);
  assert.equal(procs.length, 2, out);
  assert.match(procs[0], /^\s*1 sh -c/);
  assert.match(procs[1], /^\s*\d+ /);
});

Deno.test("annotations and the bundle's state reach `state`", T, async () => {
  await withContainer({
    args: ["sleep", "1000"],
    mutate: (s) => void (s.annotations = { "org.example.key": "value" }),
  }, async (ctx) => {
    await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id]);
    const st = await ctx.state();
    assert.deepEqual(st.annotations, { "org.example.key": "value" });
  });
});
