import assert from "node:assert/strict";
import type { Seccomp } from "../spec/types.ts";
import { libseccompVersion, openLibseccomp, validateSeccomp } from "./seccomp.ts";

const SECCOMP_MODULE = new URL("./seccomp.ts", import.meta.url).href;
const CAPS_MODULE = new URL("./capabilities.ts", import.meta.url).href;
const LIBC_MODULE = new URL("./libc.ts", import.meta.url).href;

/**
 * Runs `body` in a child Deno (a loaded filter cannot be removed), with
 * `spec` as `spec`, the modules' exports, `dir` (a temp dir removed after)
 * and `sh(cmd)`, which execs busybox sh like an init execs its program.
 */
async function child(body: string, spec?: Seccomp): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "berth-seccomp-" });
  try {
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(
      script,
      `import { loadSeccomp } from ${JSON.stringify(SECCOMP_MODULE)};
import * as caps from ${JSON.stringify(CAPS_MODULE)};
import { execve, PR, prctl } from ${JSON.stringify(LIBC_MODULE)};
const dir = ${JSON.stringify(dir)};
const spec = ${JSON.stringify(spec ?? null)};
const sh = (cmd: string): never => execve("/bin/busybox", ["sh", "-c", cmd], ["PATH=/bin"]);
void loadSeccomp; void caps; void PR; void prctl; void dir; void spec; void sh;
${body}
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { code: out.code, out: text };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const denyMkdir = (extra: Partial<Seccomp> = {}): Seccomp => ({
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
  ...extra,
});

Deno.test("validateSeccomp accepts a Docker-like profile", () => {
  validateSeccomp({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
    syscalls: [
      { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
      {
        names: ["personality"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 4294967295, op: "SCMP_CMP_EQ" }],
      },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      { names: ["ptrace"], action: "SCMP_ACT_KILL_PROCESS" },
      { names: ["uselib"], action: "SCMP_ACT_LOG" },
      { names: ["acct"], action: "SCMP_ACT_TRACE", errnoRet: 1 },
      { names: ["kexec_load"], action: "SCMP_ACT_KILL" },
      { names: ["reboot"], action: "SCMP_ACT_TRAP" },
    ],
  });
});

Deno.test("validateSeccomp names the field of each mistake", () => {
  const allow = "SCMP_ACT_ALLOW";
  const cases: [Seccomp, string][] = [
    [
      { defaultAction: "SCMP_ACT_FOO" },
      'linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"',
    ],
    [
      {
        defaultAction: allow,
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ERRNO" },
          { names: ["write"], action: "SCMP_ACT_FOO" },
        ],
      },
      'linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_FOO"',
    ],
    [
      { defaultAction: allow, syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }] },
      "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported (berth has no seccomp notify listener)",
    ],
    [
      { defaultAction: allow, listenerPath: "/run/seccomp.sock" },
      "linux.seccomp.listenerPath: is not supported (berth has no seccomp notify listener)",
    ],
    [
      { defaultAction: allow, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"] },
      'linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX"',
    ],
    [
      { defaultAction: allow, flags: ["SECCOMP_FILTER_FLAG_BOGUS"] },
      'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_BOGUS"',
    ],
    [
      { defaultAction: allow, flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] },
      "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported (it is for SCMP_ACT_NOTIFY, which berth lacks)",
    ],
    [
      {
        defaultAction: allow,
        syscalls: [{
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 1, value: 0, op: "SCMP_CMP_EQ" }, {
            index: 0,
            value: 1,
            op: "SCMP_CMP_FOO",
          }],
        }],
      },
      'linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_FOO"',
    ],
    [
      {
        defaultAction: allow,
        syscalls: [{
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }],
        }],
      },
      "linux.seccomp.syscalls[0].args[0].index: must be an argument index from 0 to 5, got 6",
    ],
    [
      {
        defaultAction: allow,
        syscalls: [{
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }],
        }],
      },
      "linux.seccomp.syscalls[0].args[0].value: must be an unsigned 64-bit integer, got -1",
    ],
    [
      { defaultAction: allow, syscalls: [{ names: ["read"], action: allow, errnoRet: 1 }] },
      "linux.seccomp.syscalls[0].errnoRet: is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE",
    ],
    [
      { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000 },
      "linux.seccomp.defaultErrnoRet: must be an integer from 0 to 65535, got 70000",
    ],
    [
      { defaultAction: allow, syscalls: [{ names: [], action: "SCMP_ACT_ERRNO" }] },
      "linux.seccomp.syscalls[0].names: must name at least one system call",
    ],
  ];
  for (const [spec, message] of cases) assert.throws(() => validateSeccomp(spec), { message });
});

Deno.test("a missing libseccomp gives a clear error", () => {
  assert.throws(() => openLibseccomp("libseccomp-missing.so.2"), {
    message:
      /^seccomp: libseccomp-missing.so.2 is not installed \(install libseccomp2\) but linux.seccomp is set/,
  });
  assert.match(libseccompVersion(), /^2\.\d+\.\d+$/);
});

Deno.test("an ERRNO rule makes mkdir fail with EPERM after execve", async () => {
  const spec = denyMkdir({ architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] });
  spec.syscalls!.push({ names: ["no_such_syscall", "getpid"], action: "SCMP_ACT_ERRNO" });
  // Same action as the default: left out, not an error.
  spec.syscalls!.push({ names: ["getppid"], action: "SCMP_ACT_ALLOW" });
  const { code, out } = await child(
    `console.log(JSON.stringify(loadSeccomp(spec)));
sh("grep -E '^(NoNewPrivs|Seccomp)' /proc/self/status; mkdir " + dir + "/x; echo mkdir=$?; test -e " + dir + "/x || echo absent");`,
    spec,
  );
  assert.equal(code, 0, out);
  assert.match(out, /\{"unknownSyscalls":\["no_such_syscall"\]\}/);
  assert.match(out, /mkdir: can't create directory '.*\/x': Operation not permitted/);
  assert.match(out, /^mkdir=1$/m);
  assert.match(out, /^absent$/m);
  // loadSeccomp leaves no_new_privs to the caller.
  assert.match(out, /^NoNewPrivs:\t0$/m);
  assert.match(out, /^Seccomp:\t2$/m);
});

Deno.test("errnoRet picks the errno", async () => {
  const spec: Seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }],
  };
  const { out } = await child(`loadSeccomp(spec); sh("mkdir " + dir + "/x");`, spec);
  assert.match(out, /mkdir: can't create directory '.*\/x': Function not implemented/);
});

Deno.test("argument conditions: MASKED_EQ, EQ; one index twice is ORed, two indexes ANDed", async () => {
  const spec: Seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      // personality(PER_LINUX32) only: busybox linux32 asks for 8, linux64 for 0.
      {
        names: ["personality"],
        action: "SCMP_ACT_ERRNO",
        args: [{ index: 0, value: 0xff, valueTwo: 8, op: "SCMP_CMP_MASKED_EQ" }],
      },
      // kill(_, 0) or kill(_, SIGCONT): two conditions on one argument.
      {
        names: ["kill"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 13,
        args: [
          { index: 1, value: 0, op: "SCMP_CMP_EQ" },
          { index: 1, value: 18, op: "SCMP_CMP_EQ" },
        ],
      },
    ],
  };
  const { code, out } = await child(
    `// kill(self, SIGWINCH) only: two conditions on two arguments are ANDed.
spec.syscalls.push({
  names: ["kill"],
  action: "SCMP_ACT_ERRNO",
  args: [
    { index: 0, value: Deno.pid, op: "SCMP_CMP_EQ" },
    { index: 1, value: 28, op: "SCMP_CMP_EQ" },
  ],
});
loadSeccomp(spec);
sh("linux32 true; echo linux32=$?; linux64 true; echo linux64=$?; " +
  "kill -0 $$; echo kill0=$?; kill -CONT $$; echo killcont=$?; kill -URG $$; echo killurg=$?; " +
  "kill -WINCH $$; echo killwinch=$?; sleep 5 & kill -WINCH $!; echo killother=$?; kill $!");`,
    spec,
  );
  assert.equal(code, 0, out);
  assert.match(out, /linux32: personality\(0x8\): Operation not permitted/);
  assert.match(out, /^linux32=1$/m);
  assert.match(out, /^linux64=0$/m);
  assert.match(out, /Permission denied/);
  assert.match(out, /^kill0=1$/m);
  assert.match(out, /^killcont=1$/m);
  assert.match(out, /^killurg=0$/m);
  assert.match(out, /^killwinch=1$/m);
  assert.match(out, /^killother=0$/m);
});

Deno.test("the filter is the calling thread's, unless SECCOMP_FILTER_FLAG_TSYNC", async () => {
  const script = `loadSeccomp(spec);
const threads = [...Deno.readDirSync("/proc/thread-self/..")].map((t) =>
  /^Seccomp:\\s+(\\d)/m.exec(Deno.readTextFileSync("/proc/self/task/" + t.name + "/status"))![1]);
console.log("threads", threads.length, "filtered", threads.filter((s) => s === "2").length);
console.log("self", /^Seccomp:\\s+(\\d)/m.exec(Deno.readTextFileSync("/proc/thread-self/status"))![1]);`;
  const plain = await child(script, denyMkdir());
  assert.equal(plain.code, 0, plain.out);
  const [, threads] = /threads (\d+)/.exec(plain.out)!;
  assert.ok(Number(threads) > 1, plain.out);
  assert.match(plain.out, /filtered 1$/m);
  assert.match(plain.out, /^self 2$/m);
  const synced = await child(
    script,
    denyMkdir({
      flags: [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
      ],
    }),
  );
  assert.equal(synced.code, 0, synced.out);
  const [, n, filtered] = /threads (\d+) filtered (\d+)/.exec(synced.out)!;
  assert.equal(filtered, n, synced.out);
});

Deno.test("without no_new_privs, loading needs CAP_SYS_ADMIN", async () => {
  const { code, out } = await child(
    `const all = caps.currentCapabilities().permitted.filter((c) => c !== "CAP_SYS_ADMIN");
caps.setCapabilities({ effective: all, permitted: all });
try { loadSeccomp(spec); } catch (e) { console.log("error:", (e as Error).message); }
prctl(PR.SET_NO_NEW_PRIVS, 1);
loadSeccomp(spec);
sh("grep -E '^(NoNewPrivs|Seccomp)' /proc/self/status; mkdir " + dir + "/x");`,
    denyMkdir(),
  );
  assert.equal(code, 1, out);
  assert.match(
    out,
    /^error: seccomp_load \(without no_new_privs, loading a filter needs CAP_SYS_ADMIN\): .*EACCES/m,
  );
  assert.match(out, /^NoNewPrivs:\t1$/m);
  assert.match(out, /^Seccomp:\t2$/m);
  assert.match(out, /Operation not permitted/);
});

Deno.test("an architecture libseccomp does not know fails the load by name", async () => {
  const [major, minor] = libseccompVersion().split(".").map(Number);
  if (major > 2 || minor >= 6) return; // LoongArch arrived in libseccomp 2.6
  const { code, out } = await child(
    `try { loadSeccomp(spec); } catch (e) { console.log("error:", (e as Error).message); }
console.log(/^Seccomp:\\s+(\\d)/m.exec(Deno.readTextFileSync("/proc/thread-self/status"))![1]);`,
    denyMkdir({ architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_LOONGARCH64"] }),
  );
  assert.equal(code, 0, out);
  assert.match(
    out,
    /^error: linux.seccomp.architectures\[1\]: SCMP_ARCH_LOONGARCH64 is not supported by libseccomp 2\.\d+\.\d+$/m,
  );
  assert.match(out, /^0$/m);
});
