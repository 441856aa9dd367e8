/**
 * The least-privilege default config.json that `spec` writes, with the same
 * content as the example config of `runc spec` (runc 1.2): three
 * capabilities, a read-only root, no new privileges, the usual /dev, /proc
 * and /sys mounts, every device denied in the device cgroup, and the masked
 * and read-only /proc and /sys paths.
 */
import type { Mount, Spec } from "./types.ts";

/** Options of {@link defaultSpec}. */
export interface DefaultSpecOptions {
  /** The process's argv (default `["sh"]`). */
  args?: string[];
  /** Whether the process gets a pty (default true, as with `runc spec`). */
  terminal?: boolean;
  /** root.path, relative to the bundle (default `"rootfs"`). */
  rootfs?: string;
}

/** The capabilities of `runc spec`: just enough for a shell and a server on a low port. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_AUDIT_WRITE",
  "CAP_KILL",
  "CAP_NET_BIND_SERVICE",
];

/** Paths under /proc and /sys hidden from the container (runc's list). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
  "/sys/devices/virtual/tpm",
];

/** Paths under /proc remounted read-only in the container (runc's list). */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function defaultMounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc" },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

/**
 * A fresh default spec. Every call returns new objects, so callers may
 * change the result freely.
 */
export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const caps = () => [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: "1.2.0",
    process: {
      terminal: opts.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: opts.args ? [...opts.args] : ["sh"],
      env: [DEFAULT_PATH, "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: caps(), effective: caps(), permitted: caps() },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: opts.rootfs ?? "rootfs", readonly: true },
    hostname: "berth",
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}
