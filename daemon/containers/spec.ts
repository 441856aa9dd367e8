/**
 * From a Docker container (image config + Config + HostConfig) to the OCI
 * runtime spec the runtime runs, with Docker's defaults: its 14 default
 * capabilities, masked and read-only /proc paths, the default device rules,
 * a seccomp profile, /etc/hostname, /etc/hosts and /etc/resolv.conf.
 */
import { securityOptions } from "./security_opts.ts";
import { userMounts } from "./mounts.ts";
import {
  blockIODevices,
  deviceCgroupRules,
  type DeviceMapping,
  hostDevices,
} from "./host_devices.ts";
import type { Mount, Namespace, Process, Seccomp, Spec } from "../../runtime/spec/types.ts";
import type { ContainerConfig, HostConfig } from "../api/types.ts";
import { badRequest } from "../api/errors.ts";
import { CAPABILITIES } from "../../runtime/linux/capabilities.ts";
import { cgroupVersion } from "../../runtime/cgroups/mod.ts";

/** The image's runtime defaults (the OCI image config's `config`). */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  StopSignal?: string;
}

/** Docker's default capability set for containers. */
export const DOCKER_DEFAULT_CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability berth knows by name (what --cap-add/--cap-drop accept). */
export const ALL_CAPS: readonly string[] = Object.keys(CAPABILITIES);

let held: string[] | undefined;

/**
 * "All capabilities" for --privileged, --cap-add ALL and `exec --privileged`:
 * every one this daemon's bounding set holds. Docker asks for every one the
 * kernel knows, so where the engine itself lacks some (a host or an outer
 * container that dropped CAP_SYS_RESOURCE, say) the runtime cannot grant
 * them and every privileged start fails; like podman, berth gives what it has.
 */
export function allCaps(): string[] {
  if (held) return [...held];
  let mask = -1n;
  try {
    const line = Deno.readTextFileSync("/proc/self/status").match(/^CapBnd:\s*([0-9a-f]+)$/m);
    if (line) mask = BigInt(`0x${line[1]}`);
  } catch { /* no /proc: ask for all, the runtime says what fails */ }
  held = ALL_CAPS.filter((c) => mask & (1n << BigInt(CAPABILITIES[c])));
  return [...held];
}

const MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/**
 * berth's default seccomp profile: allow by default, and refuse (EPERM) the
 * system calls that reach kernel-wide state or have a history of container
 * escapes. Docker's own profile is an allow list; this deny list blocks the
 * same dangerous families while staying short enough to review.
 */
export const DEFAULT_SECCOMP: Seccomp = {
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{
    names: [
      "acct",
      "add_key",
      "bpf",
      "clock_adjtime",
      "clock_settime",
      "create_module",
      "delete_module",
      "finit_module",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "get_kernel_syms",
      "init_module",
      "ioperm",
      "iopl",
      "kcmp",
      "kexec_file_load",
      "kexec_load",
      "keyctl",
      "lookup_dcookie",
      "mount",
      "mount_setattr",
      "move_mount",
      "name_to_handle_at",
      "nfsservctl",
      "open_by_handle_at",
      "open_tree",
      "perf_event_open",
      "pivot_root",
      "query_module",
      "quotactl",
      "reboot",
      "request_key",
      "setns",
      "settimeofday",
      "swapoff",
      "swapon",
      "sysfs",
      "syslog",
      "umount2",
      "unshare",
      "uselib",
      "userfaultfd",
      "ustat",
      "vm86",
      "vm86old",
    ],
    action: "SCMP_ACT_ERRNO",
    errnoRet: 1,
  }],
};

const RLIMITS: Record<string, string> = {
  core: "RLIMIT_CORE",
  cpu: "RLIMIT_CPU",
  data: "RLIMIT_DATA",
  fsize: "RLIMIT_FSIZE",
  locks: "RLIMIT_LOCKS",
  memlock: "RLIMIT_MEMLOCK",
  msgqueue: "RLIMIT_MSGQUEUE",
  nice: "RLIMIT_NICE",
  nofile: "RLIMIT_NOFILE",
  nproc: "RLIMIT_NPROC",
  rss: "RLIMIT_RSS",
  rtprio: "RLIMIT_RTPRIO",
  rttime: "RLIMIT_RTTIME",
  sigpending: "RLIMIT_SIGPENDING",
  stack: "RLIMIT_STACK",
};

const asList = (v: string[] | string | null | undefined): string[] | undefined =>
  v === undefined || v === null ? undefined : typeof v === "string" ? [v] : v;

/** Docker's entrypoint/cmd rule: an entrypoint given at create drops the image's Cmd. */
export function resolveCommand(config: ContainerConfig, image: ImageRuntimeConfig): string[] {
  const entrypoint = asList(config.Entrypoint);
  const cmd = asList(config.Cmd);
  let argv: string[];
  if (entrypoint !== undefined) {
    argv = [...entrypoint, ...(cmd ?? [])];
  } else {
    argv = [...(image.Entrypoint ?? []), ...(cmd ?? image.Cmd ?? [])];
  }
  if (!argv.length || argv[0] === "") throw badRequest("no command specified");
  return argv;
}

/** Image env, then the container's, a later KEY replacing an earlier one. */
export function mergeEnv(image: string[] | null | undefined, own: string[] | null | undefined) {
  const out = new Map<string, string>();
  for (const kv of [...(image ?? []), ...(own ?? [])]) {
    const key = kv.includes("=") ? kv.slice(0, kv.indexOf("=")) : kv;
    out.set(key, kv);
  }
  if (![...out.keys()].includes("PATH")) {
    out.set("PATH", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  }
  return [...out.values()];
}

function capName(c: string): string {
  const up = c.toUpperCase();
  return up === "ALL" || up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/** Docker's --cap-add/--cap-drop arithmetic over the default set. */
export function resolveCaps(host: HostConfig): string[] {
  if (host.Privileged) return allCaps();
  const add = (host.CapAdd ?? []).map(capName);
  const drop = (host.CapDrop ?? []).map(capName);
  for (const [field, list] of [["CapAdd", add], ["CapDrop", drop]] as const) {
    for (const c of list) {
      if (c !== "ALL" && !ALL_CAPS.includes(c)) {
        throw badRequest(`invalid ${field}: unknown capability: "${c}"`);
      }
    }
  }
  let caps = drop.includes("ALL") ? [] : [...DOCKER_DEFAULT_CAPS];
  caps = caps.filter((c) => !drop.includes(c));
  if (add.includes("ALL")) caps = allCaps();
  for (const c of add) if (c !== "ALL" && !caps.includes(c)) caps.push(c);
  return caps;
}

export interface SpecInput {
  id: string;
  config: ContainerConfig;
  host: HostConfig;
  image: ImageRuntimeConfig;
  /** Absolute path of the container's root filesystem (mounted by then). */
  rootfs: string;
  /** uid/gid resolved from Config.User (or the image's) against the rootfs. */
  user: { uid: number; gid: number; additionalGids: number[] };
  /** Host files bind-mounted over /etc/hostname, /etc/hosts and /etc/resolv.conf. */
  etc: { hostname: string; hosts: string; resolvConf: string };
  /** cgroup path for the container. */
  cgroupsPath: string;
  /** The command (the record's Path and Args, merged with the image's at create). */
  args?: string[];
}

/**
 * What HostConfig alone decides in the spec. It throws Docker's error for a
 * bad setting, so create checks a request by computing this too.
 */
export function hostSettings(host: HostConfig) {
  const caps = resolveCaps(host);
  const security = securityOptions(host.SecurityOpt, caps);
  const namespaces: Namespace[] = [{ type: "mount" }];
  if (cgroupnsPrivate(host)) namespaces.push({ type: "cgroup" });
  // --pid/--ipc/--uts host: the host's namespace (no entry); otherwise a new one.
  for (const [type, mode] of namespaceModes(host)) {
    if (mode !== "host") namespaces.push({ type });
  }
  const mounts = userMounts(host);
  const resources = resourcesOf(host);
  const custom = hostDevices(host.Devices as DeviceMapping[] | null | undefined);
  const extraRules = deviceCgroupRules(host.DeviceCgroupRules as string[] | null | undefined);
  if (!host.Privileged) resources.devices = [...resources.devices!, ...custom.rules, ...extraRules];
  return { caps, security, namespaces, mounts, resources, devices: custom.devices };
}

export function buildSpec(input: SpecInput): Spec {
  const { config, host } = input;
  const { caps, security, namespaces, resources, devices, ...settings } = hostSettings(host);
  const process: Process = {
    terminal: Boolean(config.Tty),
    user: {
      uid: input.user.uid,
      gid: input.user.gid,
      additionalGids: input.user.additionalGids,
    },
    args: input.args ?? resolveCommand(config, input.image),
    env: mergeEnv(input.image.Env, [
      `HOSTNAME=${config.Hostname || input.id.slice(0, 12)}`,
      ...(config.Tty ? ["TERM=xterm"] : []),
      ...(config.Env ?? []),
    ]),
    cwd: config.WorkingDir || input.image.WorkingDir || "/",
    capabilities: {
      bounding: caps,
      effective: caps,
      permitted: caps,
      inheritable: [],
    },
    noNewPrivileges: security.noNewPrivileges,
    rlimits: (host.Ulimits ?? []).map((u) => {
      const type = RLIMITS[u.Name];
      if (!type) throw badRequest(`invalid ulimit type: ${u.Name}`);
      return { type, soft: u.Soft, hard: u.Hard };
    }),
  };
  if (host.OomScoreAdj) process.oomScoreAdj = host.OomScoreAdj;

  const network = host.NetworkMode || "default";
  if (network === "none") namespaces.push({ type: "network" });
  else if (network !== "host") {
    throw badRequest(
      `network mode "${network}" is not supported yet: berth supports --network none and ` +
        `--network host (the default bridge is not implemented yet)`,
    );
  }

  const shmSize = host.ShmSize || 64 * 1024 * 1024;
  const mounts: Mount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
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
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", host.Privileged ? "rw" : "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", host.Privileged ? "rw" : "ro"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    // --ipc host shares the host's /dev/shm too (POSIX shared memory), as Docker does.
    host.IpcMode === "host"
      ? {
        destination: "/dev/shm",
        type: "bind",
        source: "/dev/shm",
        options: ["rbind", "rprivate"],
      }
      : {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${shmSize}`],
      },
    // Read-only with the root (--read-only), as Docker mounts them.
    ...etcMount("/etc/resolv.conf", input.etc.resolvConf, host.ReadonlyRootfs),
    ...etcMount("/etc/hostname", input.etc.hostname, host.ReadonlyRootfs),
    ...etcMount("/etc/hosts", input.etc.hosts, host.ReadonlyRootfs),
  ];
  mounts.push(...settings.mounts);

  const spec: Spec = {
    ociVersion: "1.2.0",
    process,
    root: { path: input.rootfs, readonly: Boolean(host.ReadonlyRootfs) },
    hostname: network === "host" || host.UTSMode === "host"
      ? undefined
      : (config.Hostname || input.id.slice(0, 12)),
    domainname: network === "host" || host.UTSMode === "host"
      ? undefined
      : (config.Domainname || undefined),
    mounts,
    linux: {
      namespaces,
      ...(devices.length ? { devices } : {}),
      cgroupsPath: input.cgroupsPath,
      resources,
      sysctl: host.Sysctls ?? undefined,
      // HostConfig.MaskedPaths/ReadonlyPaths (the CLI turns systempaths=unconfined into empty ones).
      maskedPaths: host.Privileged || security.unconfinedPaths
        ? []
        : (host.MaskedPaths as string[] | null | undefined) ?? MASKED_PATHS,
      readonlyPaths: host.Privileged || security.unconfinedPaths
        ? []
        : (host.ReadonlyPaths as string[] | null | undefined) ?? READONLY_PATHS,
      seccomp: host.Privileged || security.seccomp === "unconfined"
        ? undefined
        : security.seccomp === "default"
        ? DEFAULT_SECCOMP
        : security.seccomp,
    },
  };
  if (!spec.hostname) delete spec.hostname;
  if (!spec.domainname) delete spec.domainname;
  return spec;
}

function etcMount(destination: string, source: string, readonly?: boolean): Mount[] {
  const options = ["rbind", "rprivate", ...(readonly ? ["ro"] : [])];
  return [{ destination, type: "bind", source, options }];
}

/** Docker's default device rules: deny all, then the usual character devices. */
const DEVICE_RULES = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c" as const, major: null, minor: null, access: "m" },
  { allow: true, type: "b" as const, major: null, minor: null, access: "m" },
  ...[[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [10, 200]].map((
    [major, minor],
  ) => ({ allow: true, type: "c" as const, major, minor, access: "rwm" })),
  { allow: true, type: "c" as const, major: 136, minor: null, access: "rwm" },
];

/**
 * --cgroupns: "private" gives the container its own cgroup namespace, "host"
 * keeps the host's. Docker's default: private on a cgroup v2 host, host on
 * v1 (where tools read the container's cgroup path from /proc/self/cgroup).
 */
export function cgroupnsPrivate(host: HostConfig): boolean {
  const mode = String(host.CgroupnsMode ?? "");
  if (mode !== "" && mode !== "host" && mode !== "private") {
    throw badRequest(`invalid cgroup namespace mode: ${mode}`);
  }
  return mode === "private" || (mode === "" && cgroupVersion() === 2);
}

/**
 * The pid, ipc and uts modes: "host" shares the host's namespace; "" (and
 * ipc's "private" and "shareable") a new one. Joining another container's
 * ("container:NAME") is not implemented: refused rather than ignored.
 */
export function namespaceModes(host: HostConfig): [Namespace["type"], string][] {
  const modes: [Namespace["type"], string, string, string[]][] = [
    ["pid", "--pid", String(host.PidMode ?? ""), ["", "host"]],
    ["ipc", "--ipc", String(host.IpcMode ?? ""), ["", "host", "private", "shareable"]],
    ["uts", "--uts", String(host.UTSMode ?? ""), ["", "host"]],
  ];
  return modes.map(([type, flag, mode, known]) => {
    if (mode.startsWith("container:")) {
      throw badRequest(
        `${flag} ${mode}: joining another container's namespace is not supported yet by berth`,
      );
    }
    if (!known.includes(mode)) throw badRequest(`invalid ${type.toUpperCase()} mode: ${mode}`);
    return [type, mode];
  });
}

function resourcesOf(host: HostConfig) {
  const r: NonNullable<NonNullable<Spec["linux"]>["resources"]> = {
    devices: host.Privileged ? [{ allow: true, access: "rwm" }] : DEVICE_RULES,
  };
  if (host.Memory) {
    r.memory = { limit: host.Memory };
    if (host.MemorySwap) r.memory.swap = host.MemorySwap;
    if (host.MemoryReservation) r.memory.reservation = host.MemoryReservation;
  }
  const cpu: NonNullable<typeof r.cpu> = {};
  if (host.NanoCpus) {
    cpu.period = 100_000;
    cpu.quota = Math.round(host.NanoCpus / 1e9 * 100_000);
  }
  if (host.CpuPeriod) cpu.period = host.CpuPeriod;
  if (host.CpuQuota) cpu.quota = host.CpuQuota;
  if (host.CpuShares) cpu.shares = host.CpuShares;
  if (host.CpusetCpus) cpu.cpus = host.CpusetCpus;
  if (host.CpusetMems) cpu.mems = host.CpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (host.OomKillDisable) (r.memory ??= {}).disableOOMKiller = true;
  const swappiness = host.MemorySwappiness as number | null | undefined;
  if (typeof swappiness === "number" && swappiness >= 0) (r.memory ??= {}).swappiness = swappiness;
  if (host.PidsLimit && host.PidsLimit > 0) r.pids = { limit: host.PidsLimit };
  if (host.BlkioWeight) r.blockIO = { weight: host.BlkioWeight };
  Object.assign(r.blockIO ??= {}, blockIODevices(host));
  if (!Object.keys(r.blockIO).length) delete r.blockIO;
  if (host.CpuRealtimePeriod) (r.cpu ??= {}).realtimePeriod = host.CpuRealtimePeriod as number;
  if (host.CpuRealtimeRuntime) (r.cpu ??= {}).realtimeRuntime = host.CpuRealtimeRuntime as number;
  return r;
}
