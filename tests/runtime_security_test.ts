/**
 * What confines a container: capabilities, no_new_privs, signal state,
 * seccomp, masked and read-only paths, file descriptors, the refused user
 * namespace, and the runtime binary kept out of the container's reach
 * (CVE-2019-5736).
 */
import assert from "node:assert/strict";
import { DOCKER_DEFAULT_CAPS } from "../daemon/containers/spec.ts";
import { runContainer, runOk, shc, T, withContainer } from "./helpers/fixture.ts";
import { describe, isBerth, readText, REPO, runtimeArgv, waitFor } from "./helpers/runtime.ts";
import { DEFAULT_MASKED_PATHS } from "../runtime/spec/default.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The lines `Name:\tvalue` of a /proc/PID/status text, as a map. */
function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_KILL: 5,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_ADMIN: 21,
  CAP_AUDIT_WRITE: 29,
};

function capMask(names: string[]): string {
  let m = 0n;
  for (const n of names) m |= 1n << BigInt(CAP_BITS[n]);
  return m.toString(16).padStart(16, "0");
}

Deno.test("capabilities: the default set, nothing inheritable or ambient", T, async () => {
  const st = statusFields(await runOk(["cat", "/proc/self/status"]));
  const def = capMask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
  assert.equal(def, "0000000020000420");
  assert.equal(st.CapBnd, def);
  assert.equal(st.CapPrm, def);
  assert.equal(st.CapEff, def);
  assert.equal(st.CapInh, "0000000000000000");
  assert.equal(st.CapAmb, "0000000000000000");
});

Deno.test("capabilities: each set as configured, ambient for a non-root user", T, async () => {
  const st = statusFields(
    await runOk(["cat", "/proc/self/status"], {
      mutate: (s) => {
        s.process!.user = { uid: 1000, gid: 1000 };
        s.process!.capabilities = {
          bounding: ["CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_KILL"],
          permitted: ["CAP_NET_RAW", "CAP_KILL"],
          effective: ["CAP_NET_RAW", "CAP_KILL"],
          inheritable: ["CAP_NET_RAW"],
          ambient: ["CAP_NET_RAW"],
        };
      },
    }),
  );
  assert.equal(st.CapBnd, capMask(["CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_KILL"]));
  assert.equal(st.CapInh, capMask(["CAP_NET_RAW"]));
  assert.equal(st.CapAmb, capMask(["CAP_NET_RAW"]));
  // After execve as uid 1000, only the ambient set survives into permitted and effective.
  assert.equal(st.CapPrm, capMask(["CAP_NET_RAW"]));
  assert.equal(st.CapEff, capMask(["CAP_NET_RAW"]));
});

Deno.test("capabilities: root without CAP_CHOWN cannot chown, with it can", T, async (t) => {
  const script =
    "touch /tmp/f && if chown 1000 /tmp/f 2>/dev/null; then echo chowned; else echo refused; fi";
  for (const [caps, expected] of [[[], "refused"], [["CAP_CHOWN"], "chowned"]] as const) {
    await t.step(`caps [${caps}] → ${expected}`, async () => {
      const out = await runOk(shc(script), {
        mutate: (s) => {
          s.root!.readonly = false;
          const set = [...caps];
          s.process!.capabilities = { bounding: set, effective: set, permitted: set };
        },
      });
      assert.equal(out, `${expected}\n`);
    });
  }
});

Deno.test("noNewPrivileges: true by default, false when asked", T, async (t) => {
  await t.step("default", async () => {
    const st = statusFields(await runOk(["cat", "/proc/self/status"]));
    assert.equal(st.NoNewPrivs, "1");
  });
  await t.step("false", async () => {
    const st = statusFields(
      await runOk(["cat", "/proc/self/status"], {
        mutate: (s) => void (s.process!.noNewPrivileges = false),
      }),
    );
    assert.equal(st.NoNewPrivs, "0");
  });
});

Deno.test(
  "signals: no signal ignored or blocked in the init and in exec'd processes",
  T,
  async () => {
    await withContainer({ args: shc("cat /proc/self/status; exec sleep 1000") }, async (ctx) => {
      const out = `${ctx.bundle.dir}/out.log`;
      await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id], { stdoutFile: out });
      await waitFor("the init's status", () => readText(out).includes("NoNewPrivs"));
      const init = statusFields(readText(out));
      assert.equal(init.SigIgn, "0000000000000000", "init SigIgn");
      assert.equal(init.SigBlk, "0000000000000000", "init SigBlk");
      const exec = statusFields(await ctx.ok(["exec", ctx.id, "cat", "/proc/self/status"]));
      assert.equal(exec.SigIgn, "0000000000000000", "exec SigIgn");
      assert.equal(exec.SigBlk, "0000000000000000", "exec SigBlk");
    });
  },
);

Deno.test("seccomp: mkdir denied with EPERM, other calls allowed", T, async (t) => {
  const script =
    "if mkdir /tmp/d; then echo made; fi; touch /tmp/f && echo touched; grep '^Seccomp:' /proc/self/status";
  for (const errnoRet of [undefined, 1]) {
    await t.step(`errnoRet ${errnoRet ?? "unset (EPERM)"}`, async () => {
      await withContainer({
        args: shc(script),
        mutate: (s) => {
          s.root!.readonly = false;
          s.linux!.seccomp = {
            defaultAction: "SCMP_ACT_ALLOW",
            architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            syscalls: [{
              names: ["mkdir", "mkdirat"],
              action: "SCMP_ACT_ERRNO",
              ...(errnoRet === undefined ? {} : { errnoRet }),
            }],
          };
        },
      }, async (ctx) => {
        const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
        assert.equal(r.code, 0, describe(r));
        assert.equal(r.stdout, "touched\nSeccomp:\t2\n");
        assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/d': Operation not permitted/);
      });
    });
  }
});

Deno.test("seccomp: a deny-by-default profile that still allows the basics", T, async () => {
  // Deny everything with ENOSYS except what busybox `echo` and the exit need;
  // the runtime must still be able to execve the process.
  const allowed = [
    "execve",
    "brk",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "prlimit64",
    "readlink",
    "readlinkat",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getpid",
    "getppid",
    "write",
    "writev",
    "exit",
    "exit_group",
    "mprotect",
    "mmap",
    "munmap",
    "uname",
    "futex",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "getrandom",
    "fstat",
    "newfstatat",
    "ioctl",
    "close",
    "openat",
    "read",
    "fcntl",
    "dup2",
    "dup3",
    "capget",
    "capset",
    "prctl",
    "setgroups",
    "setresuid",
    "setresgid",
    "setuid",
    "setgid",
    "getcwd",
    "chdir",
    "fchdir",
    "nanosleep",
    "clock_nanosleep",
    "sigaltstack",
    "statx",
    "stat",
    "lstat",
    "fstatfs",
    "statfs",
    "close_range",
    "getdents64",
    "lseek",
    "sched_yield",
    "sched_getaffinity",
    "gettid",
    "tgkill",
    "madvise",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_wait",
    "pipe2",
    "fchown",
    "faccessat",
    "faccessat2",
    "access",
  ];
  const r = await runContainer(["echo", "still works"], {
    mutate: (s) => {
      s.linux!.seccomp = {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 38,
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{ names: allowed, action: "SCMP_ACT_ALLOW" }],
      };
    },
  });
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stdout, "still works\n");
});

Deno.test("masked paths read as empty", T, async () => {
  const present = DEFAULT_MASKED_PATHS.filter(exists);
  assert.ok(present.length > 0, "some masked path exists on this host");
  const script = present.map((p) =>
    `if [ -d ${p} ]; then echo "${p} dir [$(ls -A ${p})]"; else echo "${p} file [$(cat ${p} 2>&1 | head -c 100)]"; fi`
  ).join("\n");
  const out = await runOk(shc(script));
  for (const p of present) {
    const kind = Deno.statSync(p).isDirectory ? "dir" : "file";
    assert.ok(out.split("\n").includes(`${p} ${kind} []`), `${p} is masked:\n${out}`);
  }
});

Deno.test("read-only paths cannot be written", T, async () => {
  const script = [
    "if echo changed > /proc/sys/kernel/hostname 2>/dev/null; then echo writable; else echo refused; fi",
    "hostname",
    "grep -E ' /proc/(sys|sysrq-trigger|bus|fs|irq) ' /proc/self/mountinfo | cut -d' ' -f5,6",
  ].join("\n");
  const out = await runOk(shc(script));
  const lines = out.trim().split("\n");
  assert.equal(lines[0], "refused");
  assert.equal(lines[1], "berth");
  const mounts = new Map(lines.slice(2).map((l) => l.split(" ") as [string, string]));
  for (const p of ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"]) {
    if (!exists(p)) continue; // runc skips read-only paths that do not exist
    assert.ok(mounts.has(p), `${p} is a mount point: ${out}`);
    assert.ok(mounts.get(p)!.split(",").includes("ro"), `${p} is read-only: ${out}`);
  }
  for (const [p, opts] of mounts) assert.ok(opts.split(",").includes("ro"), `${p}: ${opts}`);
});

Deno.test("the container's process has only fds 0, 1 and 2", T, async (t) => {
  await t.step("run in the foreground", async () => {
    const out = await runOk(shc("ls /proc/$$/fd; true"));
    assert.deepEqual(out.trim().split(/\s+/).sort(), ["0", "1", "2"]);
  });
  await t.step("create and start", async () => {
    await withContainer({ args: shc("ls /proc/$$/fd; true") }, async (ctx) => {
      const out = `${ctx.bundle.dir}/out.log`;
      await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id], { stdoutFile: out });
      await ctx.ok(["start", ctx.id]);
      await waitFor("the listing", () => readText(out).trim().split(/\s+/).length >= 3);
      await waitFor("the container to stop", async () => (await ctx.state()).status === "stopped");
      assert.deepEqual(readText(out).trim().split(/\s+/).sort(), ["0", "1", "2"]);
    });
  });
});

Deno.test("the container cannot see the host's processes or mounts", T, async () => {
  const out = await runOk(shc("ls -d /proc/[0-9]* | wc -l; grep -c . /proc/self/mountinfo"));
  const [procs, mounts] = out.trim().split("\n").map(Number);
  assert.ok(procs <= 3, `${procs} processes visible`);
  assert.ok(mounts < 40, `${mounts} mounts visible`);
  const hostMounts = Deno.readTextFileSync("/proc/self/mountinfo").split("\n");
  assert.ok(!hostMounts.some((l) => l.includes("berth-test-bundle")), "no mount on the host");
});

Deno.test({
  name: "a user namespace in the config is refused with a clear error",
  // runc supports user namespaces; berth (a multi-threaded Deno process) cannot enter one.
  ignore: !isBerth(),
  ...T,
  fn: async () => {
    await withContainer({
      args: ["true"],
      mutate: (s) => {
        s.linux!.namespaces!.push({ type: "user" });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      },
    }, async (ctx) => {
      const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
      assert.notEqual(r.code, 0, describe(r));
      assert.match(r.stderr, /user namespace/i);
      assert.equal(await ctx.ok(["list", "-q"]), "");
    });
  },
});

async function sha256(path: string): Promise<string> {
  const out = await new Deno.Command("sha256sum", { args: [path] }).output();
  return new TextDecoder().decode(out.stdout).split(" ")[0];
}

/** Copies the shared libraries `binary` needs into `rootfs`, at the same paths. */
async function copyLibraries(binary: string, rootfs: string): Promise<void> {
  const out = await new Deno.Command("ldd", { args: [binary] }).output();
  const libs = new TextDecoder().decode(out.stdout).matchAll(/(\/\S+\.so[.\d]*)/g);
  for (const [, lib] of libs) {
    const dest = `${rootfs}${lib}`;
    await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(await Deno.realPath(lib), dest);
  }
}

/**
 * CVE-2019-5736: a container overwrote the host's runc through
 * /proc/PID/exe of a runc process that ran inside it. Here the runtime under
 * test runs from a copy of its binary (so a successful attack only destroys
 * the copy). The container's /bin/true starts with `#!/proc/self/exe run`,
 * so an `exec CONTAINER /bin/true` from the host makes the runtime's process
 * inside the container execute the runtime's own binary (for berth, Deno
 * running the rest of the file, which waits 1.5 s); the runtime's shared
 * libraries are in the rootfs so that this can work. Meanwhile the container
 * opens /proc/PID/exe of every process it sees and, once the process has
 * exited, writes through that fd (the classic attack).
 */
Deno.test("CVE-2019-5736: the container cannot overwrite the runtime's binary", T, async () => {
  const work = await Deno.makeTempDir({ prefix: "berth-test-cve-" });
  try {
    const argv = runtimeArgv();
    const original = await Deno.realPath(isBerth() ? Deno.execPath() : argv[0]);
    const copy = `${work}/${original.split("/").pop()}`;
    await Deno.copyFile(original, copy);
    await Deno.chmod(copy, 0o755);
    const before = await sha256(copy);
    const copyArgv = isBerth()
      ? [copy, "run", "-A", `${REPO}/main.ts`, "runc"]
      : [copy, ...argv.slice(1)];

    const attack = `
      echo armed > /tmp/armed
      tried=""
      logged=""
      while :; do
        for d in /proc/[0-9]*; do
          p=\${d#/proc/}
          case " 1 $$ $tried " in *" $p "*) continue ;; esac
          exe=$(readlink $d/exe 2>/dev/null)
          case "$exe" in */busybox) continue ;; esac
          if [ -z "$exe" ]; then
            case " $logged " in *" $p "*) continue ;; esac
            logged="$logged $p"
            [ -d $d ] && echo "no access to /proc/$p/exe ($(tr '\\0' ' ' < $d/cmdline))" >> /tmp/seen
            continue
          fi
          tried="$tried $p"
          if exec 3<$d/exe 2>/dev/null; then
            echo "opened /proc/$p/exe -> $exe ($(tr '\\0' ' ' < $d/cmdline))" >> /tmp/seen
            i=0
            while [ -d $d ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
            if (echo x >> /proc/self/fd/3) 2>>/tmp/seen; then
              echo "WROTE through /proc/$p/exe" >> /tmp/seen
            else
              echo "write refused for /proc/$p/exe" >> /tmp/seen
            fi
            exec 3<&-
          else
            echo "open refused for /proc/$p/exe ($exe)" >> /tmp/seen
          fi
        done
      done`;
    await withContainer({
      args: shc(attack),
      argv: copyArgv,
      mutate: (s) => {
        s.root!.readonly = false;
        // Root with Docker's default capabilities, as in the original attack.
        const caps = DOCKER_DEFAULT_CAPS.slice();
        s.process!.capabilities = { bounding: caps, effective: caps, permitted: caps };
      },
    }, async (ctx) => {
      await copyLibraries(copy, ctx.bundle.rootfs);
      const truePath = `${ctx.bundle.rootfs}/bin/true`;
      await Deno.remove(truePath);
      await Deno.writeTextFile(
        truePath,
        "#!/proc/self/exe run\nawait new Promise((r) => setTimeout(r, 1500));\n",
        { mode: 0o755 },
      );
      await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
      await waitFor("the attack to be armed", () => readText(`${ctx.bundle.rootfs}/tmp/armed`));
      for (let i = 0; i < 4; i++) {
        // The runtime's own binary, run inside the container through #!/proc/self/exe.
        await ctx.rt(["exec", ctx.id, "/bin/true"], { timeoutMs: 20_000 });
        await ctx.rt(["exec", ctx.id, "sh", "-c", "sleep 0.3"], { timeoutMs: 20_000 });
      }
      await new Promise((r) => setTimeout(r, 500));
      await ctx.rt(["kill", ctx.id, "KILL"]);
      const seen = readText(`${ctx.bundle.rootfs}/tmp/seen`);
      console.log(`what the container saw:\n${seen || "(no other process was visible)"}`);
      assert.ok(!seen.includes("WROTE"), seen);
      assert.ok(
        seen.includes("opened"),
        "the attack never got hold of the runtime's binary, so this run proves nothing",
      );
    });
    assert.equal(await sha256(copy), before, "the runtime binary is unchanged");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
