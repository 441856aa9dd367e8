import type { Command } from "../context.ts";
import { OCI_VERSION } from "../container/state.ts";
import { CAPABILITIES } from "../linux/capabilities.ts";

/** `features`: what this runtime implements, in the OCI features document format. */
const features: Command = () => {
  let seccompEnabled = false;
  try {
    Deno.statSync("/usr/lib/x86_64-linux-gnu/libseccomp.so.2");
    seccompEnabled = true;
  } catch {
    try {
      Deno.statSync("/usr/lib/aarch64-linux-gnu/libseccomp.so.2");
      seccompEnabled = true;
    } catch { /* absent */ }
  }
  const doc = {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [
      "prestart",
      "createRuntime",
      "createContainer",
      "startContainer",
      "poststart",
      "poststop",
    ],
    mountOptions: [
      "async",
      "atime",
      "bind",
      "defaults",
      "dev",
      "diratime",
      "dirsync",
      "exec",
      "lazytime",
      "mand",
      "noatime",
      "nodev",
      "nodiratime",
      "noexec",
      "nolazytime",
      "nomand",
      "norelatime",
      "nostrictatime",
      "nosuid",
      "nosymfollow",
      "private",
      "rbind",
      "relatime",
      "remount",
      "ro",
      "rprivate",
      "rshared",
      "rslave",
      "runbindable",
      "rw",
      "shared",
      "slave",
      "strictatime",
      "suid",
      "symfollow",
      "sync",
      "tmpcopyup",
      "unbindable",
    ],
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "uts"],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: seccompEnabled,
        actions: [
          "SCMP_ACT_ALLOW",
          "SCMP_ACT_ERRNO",
          "SCMP_ACT_KILL",
          "SCMP_ACT_KILL_PROCESS",
          "SCMP_ACT_KILL_THREAD",
          "SCMP_ACT_LOG",
          "SCMP_ACT_TRACE",
          "SCMP_ACT_TRAP",
        ],
        operators: [
          "SCMP_CMP_EQ",
          "SCMP_CMP_GE",
          "SCMP_CMP_GT",
          "SCMP_CMP_LE",
          "SCMP_CMP_LT",
          "SCMP_CMP_MASKED_EQ",
          "SCMP_CMP_NE",
        ],
        archs: [
          "SCMP_ARCH_X86",
          "SCMP_ARCH_X86_64",
          "SCMP_ARCH_X32",
          "SCMP_ARCH_AARCH64",
          "SCMP_ARCH_ARM",
        ],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
    },
    annotations: {
      "org.opencontainers.runc.checkpoint.enabled": "false",
      "io.github.berth.runtime": "berth",
    },
  };
  console.log(JSON.stringify(doc, null, "    "));
  return Promise.resolve(0);
};
export default features;
