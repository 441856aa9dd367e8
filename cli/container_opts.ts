/**
 * The options `docker run` and `docker create` share, with the Docker CLI's
 * flags, and their translation into the POST /containers/create body
 * (cli/command/container/opts.go): environment files, labels, ports,
 * volumes, restart policy, resources, capabilities, health checks.
 */
import type { FlagDef, Parsed } from "./flags.ts";
import { parseBytes } from "./units.ts";
import type { ContainerCreateBody, HostConfig, RestartPolicy } from "../daemon/api/types.ts";

const CGROUPNS: FlagDef = {
  name: "cgroupns",
  type: "string",
  usage: "Cgroup namespace to use (host|private)\n" +
    "'host':    Run the container in the Docker host's cgroup namespace\n" +
    "'private': Run the container in its own private cgroup namespace\n" +
    "'':        Use the cgroup namespace as configured by the\n" +
    "           default-cgroupns-mode option on the daemon (default)",
};

/** "-1" (unlimited swap) or a size. */
const MEMORY_SWAP: FlagDef = {
  name: "memory-swap",
  type: "string",
  varname: "bytes",
  usage: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
  validate: (raw) => {
    if (raw !== "-1") parseBytes(raw);
  },
};

const ATTACH_STREAMS = ["stdin", "stdout", "stderr"];

/** Flags of `docker run` that `docker create` does not have. */
export const RUN_ONLY = new Set(["detach", "detach-keys", "sig-proxy"]);

/** Every flag of `docker run` (create: without {@link RUN_ONLY}). */
export const CONTAINER_FLAGS: FlagDef[] = [
  { name: "add-host", type: "list", usage: "Add a custom host-to-IP mapping (host:ip)" },
  {
    name: "annotation",
    type: "list",
    varname: "map",
    usage: "Add an annotation to the container (passed through to the OCI runtime)",
    defaultText: "map[]",
  },
  {
    name: "attach",
    short: "a",
    type: "list",
    usage: "Attach to STDIN, STDOUT or STDERR",
    validate: (raw) => {
      if (!ATTACH_STREAMS.includes(raw.toLowerCase())) {
        throw new Error("valid streams are STDIN, STDOUT and STDERR");
      }
    },
  },
  {
    name: "blkio-weight",
    type: "uint",
    varname: "uint16",
    usage: "Block IO (relative weight), between 10 and 1000, or 0 to disable",
    defaultText: "0",
  },
  {
    name: "blkio-weight-device",
    type: "list",
    usage: "Block IO weight (relative device weight)",
    defaultText: "[]",
  },
  { name: "cap-add", type: "list", usage: "Add Linux capabilities" },
  { name: "cap-drop", type: "list", usage: "Drop Linux capabilities" },
  { name: "cgroup-parent", type: "string", usage: "Optional parent cgroup for the container" },
  CGROUPNS,
  { name: "cidfile", type: "string", usage: "Write the container ID to the file" },
  { name: "cpu-count", type: "int", usage: "CPU count (Windows only)", osType: "windows" },
  { name: "cpu-percent", type: "int", usage: "CPU percent (Windows only)", osType: "windows" },
  { name: "cpu-period", type: "int", usage: "Limit CPU CFS (Completely Fair Scheduler) period" },
  { name: "cpu-quota", type: "int", usage: "Limit CPU CFS (Completely Fair Scheduler) quota" },
  { name: "cpu-rt-period", type: "int", usage: "Limit CPU real-time period in microseconds" },
  { name: "cpu-rt-runtime", type: "int", usage: "Limit CPU real-time runtime in microseconds" },
  { name: "cpu-shares", short: "c", type: "int", usage: "CPU shares (relative weight)" },
  {
    name: "cpus",
    type: "string",
    varname: "decimal",
    usage: "Number of CPUs",
    validate: (raw) => void parseNanoCpus(raw),
  },
  { name: "cpuset-cpus", type: "string", usage: "CPUs in which to allow execution (0-3, 0,1)" },
  { name: "cpuset-mems", type: "string", usage: "MEMs in which to allow execution (0-3, 0,1)" },
  {
    name: "detach",
    short: "d",
    type: "bool",
    usage: "Run container in background and print container ID",
  },
  {
    name: "detach-keys",
    type: "string",
    usage: "Override the key sequence for detaching a container",
  },
  { name: "device", type: "list", usage: "Add a host device to the container" },
  {
    name: "device-cgroup-rule",
    type: "list",
    usage: "Add a rule to the cgroup allowed devices list",
  },
  {
    name: "device-read-bps",
    type: "list",
    usage: "Limit read rate (bytes per second) from a device",
    defaultText: "[]",
  },
  {
    name: "device-read-iops",
    type: "list",
    usage: "Limit read rate (IO per second) from a device",
    defaultText: "[]",
  },
  {
    name: "device-write-bps",
    type: "list",
    usage: "Limit write rate (bytes per second) to a device",
    defaultText: "[]",
  },
  {
    name: "device-write-iops",
    type: "list",
    usage: "Limit write rate (IO per second) to a device",
    defaultText: "[]",
  },
  { name: "disable-content-trust", type: "bool", usage: "Skip image verification", default: true },
  { name: "dns", type: "list", usage: "Set custom DNS servers" },
  { name: "dns-option", type: "list", usage: "Set DNS options" },
  { name: "dns-search", type: "list", usage: "Set custom DNS search domains" },
  { name: "domainname", type: "string", usage: "Container NIS domain name" },
  { name: "entrypoint", type: "string", usage: "Overwrite the default ENTRYPOINT of the image" },
  { name: "env", short: "e", type: "list", usage: "Set environment variables" },
  { name: "env-file", type: "list", usage: "Read in a file of environment variables" },
  { name: "expose", type: "list", usage: "Expose a port or a range of ports" },
  {
    name: "gpus",
    type: "string",
    varname: "gpu-request",
    usage: "GPU devices to add to the container ('all' to pass all GPUs)",
  },
  { name: "group-add", type: "list", usage: "Add additional groups to join" },
  { name: "health-cmd", type: "string", usage: "Command to run to check health" },
  {
    name: "health-interval",
    type: "duration",
    usage: "Time between running the check (ms|s|m|h)",
    defaultText: "0s",
  },
  { name: "health-retries", type: "int", usage: "Consecutive failures needed to report unhealthy" },
  {
    name: "health-start-interval",
    type: "duration",
    usage: "Time between running the check during the start period (ms|s|m|h)",
    defaultText: "0s",
  },
  {
    name: "health-start-period",
    type: "duration",
    usage:
      "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)",
    defaultText: "0s",
  },
  {
    name: "health-timeout",
    type: "duration",
    usage: "Maximum time to allow one check to run (ms|s|m|h)",
    defaultText: "0s",
  },
  { name: "hostname", short: "h", type: "string", usage: "Container host name" },
  {
    name: "init",
    type: "bool",
    usage: "Run an init inside the container that forwards signals and reaps processes",
  },
  { name: "interactive", short: "i", type: "bool", usage: "Keep STDIN open even if not attached" },
  {
    name: "io-maxbandwidth",
    osType: "windows",
    type: "bytes",
    usage: "Maximum IO bandwidth limit for the system drive (Windows only)",
  },
  {
    name: "io-maxiops",
    osType: "windows",
    type: "uint",
    usage: "Maximum IOps limit for the system drive (Windows only)",
  },
  { name: "ip", type: "string", usage: "IPv4 address (e.g., 172.30.100.104)" },
  { name: "ip6", type: "string", usage: "IPv6 address (e.g., 2001:db8::33)" },
  { name: "ipc", type: "string", usage: "IPC mode to use" },
  { name: "isolation", type: "string", usage: "Container isolation technology" },
  { name: "kernel-memory", type: "bytes", usage: "Kernel memory limit" },
  { name: "label", short: "l", type: "list", usage: "Set meta data on a container" },
  { name: "label-file", type: "list", usage: "Read in a line delimited file of labels" },
  { name: "link", type: "list", usage: "Add link to another container" },
  { name: "link-local-ip", type: "list", usage: "Container IPv4/IPv6 link-local addresses" },
  { name: "log-driver", type: "string", usage: "Logging driver for the container" },
  { name: "log-opt", type: "list", usage: "Log driver options" },
  { name: "mac-address", type: "string", usage: "Container MAC address (e.g., 92:d0:c6:0a:29:33)" },
  { name: "memory", short: "m", type: "bytes", usage: "Memory limit" },
  { name: "memory-reservation", type: "bytes", usage: "Memory soft limit" },
  MEMORY_SWAP,
  {
    name: "memory-swappiness",
    type: "int",
    usage: "Tune container memory swappiness (0 to 100)",
    default: -1,
  },
  {
    name: "mount",
    type: "list",
    varname: "mount",
    usage: "Attach a filesystem mount to the container",
  },
  { name: "name", type: "string", usage: "Assign a name to the container" },
  { name: "network", type: "list", varname: "network", usage: "Connect a container to a network" },
  { name: "network-alias", type: "list", usage: "Add network-scoped alias for the container" },
  { name: "no-healthcheck", type: "bool", usage: "Disable any container-specified HEALTHCHECK" },
  { name: "oom-kill-disable", type: "bool", usage: "Disable OOM Killer" },
  { name: "oom-score-adj", type: "int", usage: "Tune host's OOM preferences (-1000 to 1000)" },
  { name: "pid", type: "string", usage: "PID namespace to use" },
  { name: "pids-limit", type: "int", usage: "Tune container pids limit (set -1 for unlimited)" },
  { name: "platform", type: "string", usage: "Set platform if server is multi-platform capable" },
  { name: "privileged", type: "bool", usage: "Give extended privileges to this container" },
  { name: "publish", short: "p", type: "list", usage: "Publish a container's port(s) to the host" },
  {
    name: "publish-all",
    short: "P",
    type: "bool",
    usage: "Publish all exposed ports to random ports",
  },
  {
    name: "pull",
    type: "string",
    usage: 'Pull image before running ("always", "missing", "never")',
    default: "missing",
  },
  { name: "quiet", short: "q", type: "bool", usage: "Suppress the pull output" },
  { name: "read-only", type: "bool", usage: "Mount the container's root filesystem as read only" },
  {
    name: "restart",
    type: "string",
    usage: "Restart policy to apply when a container exits",
    default: "no",
  },
  {
    name: "rm",
    type: "bool",
    usage: "Automatically remove the container and its associated anonymous volumes when it exits",
  },
  { name: "runtime", type: "string", usage: "Runtime to use for this container" },
  { name: "security-opt", type: "list", usage: "Security Options" },
  { name: "shm-size", type: "bytes", usage: "Size of /dev/shm" },
  {
    name: "sig-proxy",
    type: "bool",
    usage: "Proxy received signals to the process",
    default: true,
  },
  { name: "stop-signal", type: "string", usage: "Signal to stop the container" },
  { name: "stop-timeout", type: "int", usage: "Timeout (in seconds) to stop a container" },
  { name: "storage-opt", type: "list", usage: "Storage driver options for the container" },
  { name: "sysctl", type: "list", varname: "map", usage: "Sysctl options", defaultText: "map[]" },
  { name: "tmpfs", type: "list", usage: "Mount a tmpfs directory" },
  { name: "tty", short: "t", type: "bool", usage: "Allocate a pseudo-TTY" },
  { name: "ulimit", type: "list", varname: "ulimit", usage: "Ulimit options", defaultText: "[]" },
  { name: "use-api-socket", type: "bool", usage: "Bind mount Docker API socket and required auth" },
  {
    name: "user",
    short: "u",
    type: "string",
    usage: "Username or UID (format: <name|uid>[:<group|gid>])",
  },
  { name: "userns", type: "string", usage: "User namespace to use" },
  { name: "uts", type: "string", usage: "UTS namespace to use" },
  { name: "volume", short: "v", type: "list", usage: "Bind mount a volume" },
  { name: "volume-driver", type: "string", usage: "Optional volume driver for the container" },
  { name: "volumes-from", type: "list", usage: "Mount volumes from the specified container(s)" },
  { name: "workdir", short: "w", type: "string", usage: "Working directory inside the container" },
];

/** Flags of `docker create` (its --pull usage has its own words, typo included). */
export const CREATE_FLAGS = CONTAINER_FLAGS.filter((f) => !RUN_ONLY.has(f.name)).map((f) =>
  f.name === "pull"
    ? { ...f, usage: 'Pull image before creating ("always", "|missing", "never")' }
    : f
);

/** "1.5" → 1.5e9 nano CPUs (opts.NanoCPUs, a rational number). */
export function parseNanoCpus(raw: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw.trim()) && !/^\d+\/\d+$/.test(raw)) {
    throw new Error(`failed to parse ${raw} as a rational number`);
  }
  const n = raw.includes("/") ? Number(raw.split("/")[0]) / Number(raw.split("/")[1]) : Number(raw);
  const nano = n * 1e9;
  if (!Number.isInteger(Math.round(nano * 1e6) / 1e6)) {
    throw new Error("value is too precise");
  }
  return Math.round(nano);
}

/** opts.ValidateEnv: "KEY" takes the value from this process's environment if it has one. */
export function expandEnv(v: string): string {
  const i = v.indexOf("=");
  const k = i < 0 ? v : v.slice(0, i);
  if (k === "") throw new Error(`invalid environment variable: ${v}`);
  if (i >= 0) return v;
  const val = Deno.env.get(k);
  return val === undefined ? v : `${k}=${val}`;
}

/**
 * opts.ParseEnvFile: KEY=VALUE lines; "#" comments and blank lines skipped;
 * a bare KEY takes this process's value, or is dropped if it has none.
 */
export function parseEnvFile(path: string, text?: string): string[] {
  let content: string;
  try {
    content = text ?? Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`open ${path}: no such file or directory`);
    }
    throw new Error(`open ${path}: ${(e as Error).message}`);
  }
  const out: string[] = [];
  content.replace(/^\uFEFF/, "").split(/\r?\n/).forEach((raw, n) => {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const i = line.indexOf("=");
    const key = i < 0 ? line : line.slice(0, i);
    if (key === "") throw new Error(`no variable name on line '${line}'`);
    if (/\s/.test(key)) {
      throw new Error(`variable '${key.trimEnd()}' contains whitespaces`);
    }
    if (i >= 0) out.push(line);
    else {
      const val = Deno.env.get(key);
      if (val !== undefined) out.push(`${key}=${val}`);
    }
    void n;
  });
  return out;
}

/** Later definitions of a variable replace earlier ones (the daemon sees each key once). */
function dedupeEnv(env: string[]): string[] {
  const byKey = new Map<string, string>();
  for (const e of env) {
    const i = e.indexOf("=");
    const k = i < 0 ? e : e.slice(0, i);
    byKey.delete(k);
    byKey.set(k, e);
  }
  return [...byKey.values()];
}

/** "k=v" and "k" (empty value) into a map (opts.ConvertKVStringsToMap). */
function kvMap(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf("=");
    if (i < 0) out[kv] = "";
    else out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** opts.ParseRestartPolicy. */
export function parseRestartPolicy(policy: string): RestartPolicy {
  if (policy === "") return { Name: "no", MaximumRetryCount: 0 };
  const [name, count, ...extra] = policy.split(":");
  if (extra.length) throw new Error(`invalid restart policy format: ${policy}`);
  const p: RestartPolicy = { Name: name as RestartPolicy["Name"], MaximumRetryCount: 0 };
  if (count !== undefined) {
    if (name !== "on-failure") {
      throw new Error(
        `invalid restart policy format: maximum retry count can only be used with 'on-failure'`,
      );
    }
    if (!/^-?\d+$/.test(count)) {
      throw new Error("invalid restart policy format: maximum retry count must be an integer");
    }
    p.MaximumRetryCount = Number(count);
  }
  return p;
}

/** Capabilities as the CLI sends them: upper case with CAP_ (ALL alone trumps the rest). */
export function effectiveCaps(add: string[], drop: string[]): { add: string[]; drop: string[] } {
  const norm = (caps: string[]) => {
    const out: string[] = [];
    for (let c of caps) {
      c = c.toUpperCase();
      if (c !== "ALL" && !c.startsWith("CAP_")) c = "CAP_" + c;
      if (!out.includes(c)) out.push(c);
    }
    return out.includes("ALL") ? ["ALL"] : out;
  };
  const a = norm(add);
  const d = norm(drop).filter((c) => !a.includes(c));
  return { add: a, drop: d };
}

/** "nofile=100:200" → {Name, Soft, Hard}. */
function parseUlimit(v: string): { Name: string; Soft: number; Hard: number } {
  const i = v.indexOf("=");
  if (i < 0) throw new Error(`invalid ulimit argument: ${v}`);
  const name = v.slice(0, i);
  const [soft, hard] = v.slice(i + 1).split(":");
  const num = (x: string) => {
    if (!/^-?\d+$/.test(x)) throw new Error(`invalid ulimit argument: ${v}`);
    return Number(x);
  };
  const s = num(soft);
  const h = hard === undefined ? s : num(hard);
  if (s > h && h !== -1) {
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${s} > ${h}`);
  }
  return { Name: name, Soft: s, Hard: h };
}

interface PortSpecs {
  exposed: Record<string, Record<string, never>>;
  bindings: Record<string, { HostIp: string; HostPort: string }[]>;
}

function portRange(p: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(p);
  if (!m) throw new Error(`invalid ${what}: ${p}`);
  const a = Number(m[1]), b = m[2] ? Number(m[2]) : a;
  if (a > 65535 || b > 65535 || b < a) throw new Error(`invalid ${what}: ${p}`);
  return [a, b];
}

/** nat.ParsePortSpecs for -p ([ip:][hostPort:]containerPort[/proto]). */
export function parsePorts(publish: string[], expose: string[]): PortSpecs {
  const exposed: PortSpecs["exposed"] = {};
  const bindings: PortSpecs["bindings"] = {};
  for (const spec of publish) {
    let rest = spec;
    let proto = "tcp";
    const slash = rest.lastIndexOf("/");
    if (slash >= 0) {
      proto = rest.slice(slash + 1).toLowerCase();
      rest = rest.slice(0, slash);
    }
    let ip = "", hostPort = "", containerPort: string;
    const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
    let parts: string[];
    if (v6) {
      ip = v6[1];
      parts = v6[2].split(":");
      [hostPort, containerPort] = parts.length === 2 ? parts : ["", parts[0]];
    } else {
      parts = rest.split(":");
      if (parts.length === 1) containerPort = parts[0];
      else if (parts.length === 2) [hostPort, containerPort] = parts;
      else if (parts.length === 3) [ip, hostPort, containerPort] = parts;
      else throw new Error(`invalid port format: ${spec}`);
    }
    if (!containerPort) throw new Error(`no port specified: ${spec}<empty>`);
    const [c0, c1] = portRange(containerPort, "containerPort");
    let h0 = 0, h1 = 0;
    if (hostPort) [h0, h1] = portRange(hostPort, "hostPort");
    if (hostPort && h1 - h0 !== c1 - c0 && h0 !== h1) {
      throw new Error(
        `invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`,
      );
    }
    for (let p = c0; p <= c1; p++) {
      const key = `${p}/${proto}`;
      exposed[key] = {};
      let hp = hostPort;
      if (hostPort && h0 !== h1) hp = String(h0 + (p - c0));
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hp });
    }
  }
  for (const e of expose) {
    if (e.includes(":")) throw new Error(`invalid port format for --expose: ${e}`);
    const [port, proto = "tcp"] = e.split("/");
    const [a, b] = portRange(port, "range format for --expose");
    for (let p = a; p <= b; p++) exposed[`${p}/${proto}`] ??= {};
  }
  return { exposed, bindings };
}

/** Namespace mode checks of the CLI (container.PidMode.Valid & co). */
function checkMode(value: string, flag: string, what: string, allowed: string[]): void {
  if (value === "") return;
  const [kind, arg] = value.split(/:(.*)/s);
  if (allowed.includes(kind) && (kind !== "container" || arg)) return;
  if (allowed.includes(value)) return;
  throw new Error(`--${flag}: invalid ${what} mode`);
}

export interface CreateRequest {
  name?: string;
  platform?: string;
  body: ContainerCreateBody;
  /** --pull: "missing" (default), "always" or "never". */
  pull: string;
  quiet: boolean;
  cidfile?: string;
}

/**
 * Builds the create request from run/create's parsed flags and
 * arguments (IMAGE [COMMAND] [ARG...]); errors carry the CLI's messages.
 */
export function buildCreate(opts: Parsed): CreateRequest {
  const v = opts.values as Record<string, any>;
  const changed = opts.changed;
  const [image, ...cmd] = opts.args;
  const attach = (v.attach as string[]).map((s) => s.toLowerCase());
  let attachStdin = attach.includes("stdin");
  let attachStdout = attach.includes("stdout");
  let attachStderr = attach.includes("stderr");
  if (v.interactive) attachStdin = true;
  if (!attach.length) {
    attachStdout = true;
    attachStderr = true;
  }
  const swappiness = v["memory-swappiness"] as number;
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw new Error(`invalid value: ${swappiness}. Valid memory swappiness range is 0-100`);
  }

  // -v: a bind (host path or named volume) or an anonymous volume (container path only).
  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const spec of v.volume as string[]) {
    const parts = spec.split(":");
    if (parts.length === 1) {
      if (!parts[0].startsWith("/")) {
        throw new Error(
          `invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${spec}' mount path must be absolute`,
        );
      }
      volumes[spec] = {};
    } else {
      let host = parts[0];
      if (host.startsWith(".")) host = resolvePath(host);
      if (!parts[1]?.startsWith("/")) {
        throw new Error(`invalid volume specification: '${spec}'`);
      }
      binds.push([host, ...parts.slice(1)].join(":"));
    }
  }
  const tmpfs: Record<string, string> = {};
  for (const t of v.tmpfs as string[]) {
    const i = t.indexOf(":");
    if (i < 0) tmpfs[t] = "";
    else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }

  const entrypoint = v.entrypoint !== ""
    ? [v.entrypoint as string]
    : changed.has("entrypoint")
    ? [""]
    : null;

  const ports = parsePorts(v.publish, v.expose);

  const env = dedupeEnv([
    ...(v["env-file"] as string[]).flatMap((f) => parseEnvFile(f)),
    ...(v.env as string[]).map(expandEnv),
  ]);
  const labels = kvMap([
    ...(v["label-file"] as string[]).flatMap((f) => parseEnvFile(f)),
    ...(v.label as string[]),
  ]);

  checkMode(v.pid, "pid", "PID", ["host", "container"]);
  checkMode(v.uts, "uts", "UTS", ["host"]);
  checkMode(v.userns, "userns", "USER", ["host"]);
  checkMode(v.cgroupns, "cgroupns", "CGROUP", ["host", "private"]);
  checkMode(v.ipc, "ipc", "IPC", ["none", "private", "shareable", "host", "container"]);

  const restart = parseRestartPolicy(v.restart);
  if (v.rm && restart.Name !== "no" && restart.Name !== ("" as string)) {
    throw new Error("conflicting options: cannot specify both --restart and --rm");
  }

  const logConfig: Record<string, string> = {};
  for (const o of v["log-opt"] as string[]) {
    const i = o.indexOf("=");
    if (i < 0) throw new Error(`invalid key/value pair format in logging opts: ${o}`);
    logConfig[o.slice(0, i)] = o.slice(i + 1);
  }
  const securityOpt = (v["security-opt"] as string[]).map((o) => {
    if (o === "no-new-privileges") return o;
    if (o.includes(":") && !o.includes("=")) return o.replace(":", "=");
    return o;
  });
  const storageOpt: Record<string, string> = {};
  for (const o of v["storage-opt"] as string[]) {
    const i = o.indexOf("=");
    if (i < 0) throw new Error(`invalid storage option`);
    storageOpt[o.slice(0, i)] = o.slice(i + 1);
  }
  const sysctls: Record<string, string> = {};
  for (const o of v.sysctl as string[]) {
    const i = o.indexOf("=");
    if (i < 0) throw new Error(`sysctl '${o}' is not allowed`);
    sysctls[o.slice(0, i)] = o.slice(i + 1);
  }

  // Health check.
  const health = v["health-cmd"] !== "" || v["health-interval"] || v["health-timeout"] ||
    v["health-start-period"] || v["health-retries"] || v["health-start-interval"];
  let healthcheck: Record<string, unknown> | undefined;
  if (v["no-healthcheck"]) {
    if (health) throw new Error("--no-healthcheck conflicts with --health-* options");
    healthcheck = { Test: ["NONE"] };
  } else if (health) {
    for (const k of ["interval", "timeout", "start-period", "start-interval"]) {
      if (v[`health-${k}`] < 0) throw new Error(`--health-${k} cannot be negative`);
    }
    if (v["health-retries"] < 0) throw new Error("--health-retries cannot be negative");
    // Durations in nanoseconds; zero fields are left out (omitempty).
    healthcheck = { Test: v["health-cmd"] ? ["CMD-SHELL", v["health-cmd"]] : null };
    for (
      const [field, flag] of [
        ["Interval", "health-interval"],
        ["Timeout", "health-timeout"],
        ["StartPeriod", "health-start-period"],
        ["StartInterval", "health-start-interval"],
      ]
    ) {
      if (v[flag]) healthcheck[field] = Math.round(v[flag] * 1e6);
    }
    if (v["health-retries"]) healthcheck.Retries = v["health-retries"];
  }

  const caps = effectiveCaps(v["cap-add"], v["cap-drop"]);
  const network = (v.network as string[])[0] ?? "";
  const networkMode = network || "default";
  const endpoints: Record<string, Record<string, unknown>> = {};
  const isUserNetwork = !["", "default", "bridge", "host", "none"].includes(networkMode) &&
    !networkMode.startsWith("container:");
  if (networkMode === "default" || isUserNetwork) {
    const ep: Record<string, unknown> = {};
    if (v["network-alias"].length) ep.Aliases = v["network-alias"];
    if (v.ip || v.ip6 || v["link-local-ip"].length) {
      ep.IPAMConfig = {
        IPv4Address: v.ip || undefined,
        IPv6Address: v.ip6 || undefined,
        LinkLocalIPs: v["link-local-ip"].length ? v["link-local-ip"] : undefined,
      };
    }
    if (v["mac-address"]) ep.MacAddress = v["mac-address"];
    if (v.link.length) ep.Links = v.link;
    endpoints[networkMode] = ep;
  }

  const hostConfig: HostConfig = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: v.cidfile,
    LogConfig: { Type: v["log-driver"], Config: logConfig },
    NetworkMode: networkMode,
    PortBindings: ports.bindings,
    RestartPolicy: restart,
    AutoRemove: v.rm,
    VolumeDriver: v["volume-driver"],
    VolumesFrom: v["volumes-from"].length ? v["volumes-from"] : null,
    CapAdd: caps.add.length ? caps.add : null,
    CapDrop: caps.drop.length ? caps.drop : null,
    CgroupnsMode: v.cgroupns,
    Dns: v.dns,
    DnsOptions: v["dns-option"],
    DnsSearch: v["dns-search"],
    ExtraHosts: v["add-host"].length ? v["add-host"] : null,
    GroupAdd: v["group-add"].length ? v["group-add"] : null,
    IpcMode: v.ipc,
    Cgroup: "",
    Links: v.link.length ? v.link : null,
    OomScoreAdj: v["oom-score-adj"],
    PidMode: v.pid,
    Privileged: v.privileged,
    PublishAllPorts: v["publish-all"],
    ReadonlyRootfs: v["read-only"],
    SecurityOpt: securityOpt.length ? securityOpt : null,
    UTSMode: v.uts,
    UsernsMode: v.userns,
    ShmSize: v["shm-size"],
    Isolation: v.isolation,
    CpuShares: v["cpu-shares"],
    Memory: v.memory,
    NanoCpus: v.cpus ? parseNanoCpus(v.cpus) : 0,
    CgroupParent: v["cgroup-parent"],
    BlkioWeight: v["blkio-weight"],
    CpuPeriod: v["cpu-period"],
    CpuQuota: v["cpu-quota"],
    CpuRealtimePeriod: v["cpu-rt-period"],
    CpuRealtimeRuntime: v["cpu-rt-runtime"],
    CpusetCpus: v["cpuset-cpus"],
    CpusetMems: v["cpuset-mems"],
    Devices: (v.device as string[]).map(parseDevice),
    DeviceCgroupRules: v["device-cgroup-rule"].length ? v["device-cgroup-rule"] : null,
    MemoryReservation: v["memory-reservation"],
    MemorySwap: v["memory-swap"] === "-1"
      ? -1
      : v["memory-swap"]
      ? parseBytes(v["memory-swap"])
      : 0,
    MemorySwappiness: swappiness,
    OomKillDisable: v["oom-kill-disable"],
    Ulimits: (v.ulimit as string[]).map(parseUlimit),
  };
  if (changed.has("pids-limit")) hostConfig.PidsLimit = v["pids-limit"];
  if (Object.keys(tmpfs).length) hostConfig.Tmpfs = tmpfs;
  if (Object.keys(sysctls).length) hostConfig.Sysctls = sysctls;
  if (Object.keys(storageOpt).length) hostConfig.StorageOpt = storageOpt;
  if (v.runtime) hostConfig.Runtime = v.runtime;
  if (v["kernel-memory"]) hostConfig.KernelMemory = v["kernel-memory"];
  if (changed.has("init")) hostConfig.Init = v.init;
  const annotations = kvMap(v.annotation);
  if (Object.keys(annotations).length) hostConfig.Annotations = annotations;

  const body: ContainerCreateBody = {
    Hostname: v.hostname,
    Domainname: v.domainname,
    User: v.user,
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    Tty: v.tty,
    OpenStdin: v.interactive,
    StdinOnce: v.interactive && attachStdin,
    Env: env,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    Volumes: volumes,
    WorkingDir: v.workdir,
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: labels,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  if (Object.keys(ports.exposed).length) body.ExposedPorts = ports.exposed;
  if (v["stop-signal"]) body.StopSignal = v["stop-signal"];
  if (changed.has("stop-timeout")) body.StopTimeout = v["stop-timeout"];
  if (healthcheck) body.Healthcheck = healthcheck;
  if (v["mac-address"]) (body as Record<string, unknown>).MacAddress = v["mac-address"];

  if (!["missing", "always", "never"].includes(v.pull)) {
    throw new Error(
      `invalid pull option: '${v.pull}': must be one of "always", "missing" or "never"`,
    );
  }
  return {
    name: v.name || undefined,
    platform: v.platform || undefined,
    body,
    pull: v.pull,
    quiet: v.quiet,
    cidfile: v.cidfile || undefined,
  };
}

/** "--device /dev/x[:/dev/y][:rwm]". */
function parseDevice(
  spec: string,
): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = spec.split(":");
  const host = parts[0];
  let inContainer = host, perms = "rwm";
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1])) perms = parts[1];
    else inContainer = parts[1];
  } else if (parts.length === 3) {
    inContainer = parts[1];
    perms = parts[2];
  } else if (parts.length > 3) {
    throw new Error(`invalid device specification: ${spec}`);
  }
  return { PathOnHost: host, PathInContainer: inContainer, CgroupPermissions: perms };
}

function resolvePath(p: string): string {
  const parts = `${Deno.cwd()}/${p}`.split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}
