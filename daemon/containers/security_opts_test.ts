import assert from "node:assert/strict";
import { convertProfile, securityOptions } from "./security_opts.ts";

const arch = Deno.build.arch === "x86_64"
  ? { seccomp: "SCMP_ARCH_X86_64", docker: "amd64", other: "arm64" }
  : { seccomp: "SCMP_ARCH_AARCH64", docker: "arm64", other: "amd64" };

Deno.test("a seccomp profile in Docker's format, for this host and these capabilities", () => {
  const profile = {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    archMap: [
      { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
      { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
    ],
    syscalls: [
      { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
      { name: "getpid", action: "SCMP_ACT_ALLOW" },
      { names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
      { names: ["ptrace"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_SYS_PTRACE"] } },
      { names: ["ours"], action: "SCMP_ACT_ALLOW", includes: { arches: [arch.docker] } },
      { names: ["theirs"], action: "SCMP_ACT_ALLOW", includes: { arches: [arch.other] } },
      { names: ["future"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "99.0" } },
      {
        names: ["kill"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 38,
        args: [{ index: 1, value: 0, op: "SCMP_CMP_EQ" }],
      },
    ],
  };
  const out = convertProfile(JSON.stringify(profile), ["CAP_CHOWN", "CAP_SYS_PTRACE"]);
  assert.equal(out.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(out.defaultErrnoRet, 1);
  assert.equal(out.architectures![0], arch.seccomp);
  assert.deepEqual(out.syscalls!.map((s) => s.names.join(",")), [
    "read,write",
    "getpid",
    "ours",
    "kill",
  ]);
  assert.deepEqual(out.syscalls!.at(-1), {
    names: ["kill"],
    action: "SCMP_ACT_ERRNO",
    errnoRet: 38,
    args: [{ index: 1, value: 0, op: "SCMP_CMP_EQ" }],
  });
  assert.throws(() => convertProfile("{", []), /Decoding seccomp profile failed/);
  assert.throws(() => convertProfile("{}", []), /defaultAction is missing/);
});

Deno.test("--security-opt values: Docker's keys, and Docker's 400 for others", () => {
  const o = securityOptions(
    [
      "no-new-privileges:true",
      "seccomp=unconfined",
      "systempaths=unconfined",
      "apparmor=unconfined",
      "label=disable",
    ],
    [],
  );
  assert.deepEqual(o, { noNewPrivileges: true, seccomp: "unconfined", unconfinedPaths: true });
  assert.equal(securityOptions(["no-new-privileges=false"], []).noNewPrivileges, false);
  assert.throws(
    () => securityOptions(["label=bogus"], []),
    /invalid --security-opt 1: "label=bogus"/,
  );
  assert.throws(() => securityOptions(["seccomp"], []), /invalid --security-opt 1: "seccomp"/);
  assert.throws(() => securityOptions(["apparmor=x", "what=ever"], []), /invalid --security-opt 2/);
});
