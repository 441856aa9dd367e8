/**
 * dockerd's settings: its own command-line flags plus daemon.json, with
 * dockerd's rule that a setting given both ways is an error (not a silent
 * override).
 */
import { parseArgs } from "node:util";

export interface DaemonConfig {
  /** Listen addresses: unix:///path, tcp://host:port, fd:// is not supported. */
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  configFile: string;
  /** An external containerd socket; when absent dockerd starts its own. */
  containerd?: string;
  logLevel: "debug" | "info" | "warn" | "error" | "fatal";
  debug: boolean;
  /** Group owning unix sockets (mode 0660); the socket stays root-only when it does not exist. */
  group: string;
  registryMirrors: string[];
  insecureRegistries: string[];
  /** daemon.json `log-opts` for the json-file driver. */
  logOpts: Record<string, string>;
  /** The cgroup under which containers get theirs (`<parent>/<id>`), unless they name another. */
  cgroupParent: string;
}

export const DEFAULTS = {
  host: "unix:///var/run/docker.sock",
  dataRoot: "/var/lib/berth",
  execRoot: "/var/run/berth",
  configFile: "/etc/berth/daemon.json",
  group: "docker",
  cgroupParent: "/berth",
} as const;

export class ConfigError extends Error {
  /** 125 for command-line errors (as dockerd's flag parsing), 1 for bad settings. */
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

const FLAGS = {
  host: { type: "string", short: "H", multiple: true },
  "data-root": { type: "string" },
  "exec-root": { type: "string" },
  "config-file": { type: "string" },
  containerd: { type: "string" },
  "log-level": { type: "string", short: "l" },
  debug: { type: "boolean", short: "D" },
  group: { type: "string", short: "G" },
  "registry-mirror": { type: "string", multiple: true },
  "insecure-registry": { type: "string", multiple: true },
  "log-opt": { type: "string", multiple: true },
  "cgroup-parent": { type: "string" },
  // Accepted for compatibility with dockerd's command lines; live restore is always on.
  "live-restore": { type: "boolean" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

/** daemon.json keys and the flag each one stands for. */
const FILE_KEYS: Record<string, keyof typeof FLAGS> = {
  hosts: "host",
  "data-root": "data-root",
  "exec-root": "exec-root",
  containerd: "containerd",
  "log-level": "log-level",
  debug: "debug",
  group: "group",
  "registry-mirrors": "registry-mirror",
  "insecure-registries": "insecure-registry",
  "log-opts": "log-opt",
  "cgroup-parent": "cgroup-parent",
  "live-restore": "live-restore",
};

/** daemon.json keys that are understood but have no effect in berth (yet). */
const IGNORED_FILE_KEYS = new Set(["log-driver", "storage-driver", "features", "experimental"]);

const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;

export type ParsedFlags = { help: boolean; version: boolean; config?: DaemonConfig };

export function parseDaemonArgs(args: string[]): ParsedFlags {
  let values;
  try {
    ({ values } = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new ConfigError((e as Error).message, 125);
  }
  if (values.help) return { help: true, version: false };
  if (values.version) return { help: false, version: true };

  const configFile = values["config-file"] ?? DEFAULTS.configFile;
  const file = readConfigFile(configFile, values["config-file"] !== undefined);
  const both = Object.entries(FILE_KEYS)
    .filter(([key, flag]) => key in file && values[flag] !== undefined)
    .map(([key, flag]) =>
      `${key}: (from flag: ${String(values[flag])}, from file: ${JSON.stringify(file[key])})`
    );
  if (both.length) {
    throw new ConfigError(
      `unable to configure the Docker daemon with file ${configFile}: the following directives ` +
        `are specified both as a flag and in the configuration file: ${both.join(", ")}`,
    );
  }

  const str = (flag: string, key: string): string | undefined => {
    const v = (values as Record<string, unknown>)[flag] ?? file[key];
    if (v !== undefined && typeof v !== "string") throw new ConfigError(`${key} must be a string`);
    return v as string | undefined;
  };
  const list = (flag: string, key: string): string[] => {
    const v = (values as Record<string, unknown>)[flag] ?? file[key] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      throw new ConfigError(`${key} must be a list of strings`);
    }
    return v;
  };

  const debug = Boolean(values.debug ?? file.debug);
  const logLevel = str("log-level", "log-level") ?? (debug ? "debug" : "info");
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`unable to parse logging level: ${logLevel}`);
  }
  const hosts = list("host", "hosts");
  for (const h of hosts) parseHost(h);

  const logOpts: Record<string, string> = {};
  const fileOpts = file["log-opts"];
  if (fileOpts !== undefined) {
    if (typeof fileOpts !== "object" || fileOpts === null || Array.isArray(fileOpts)) {
      throw new ConfigError("log-opts must be an object");
    }
    for (const [k, v] of Object.entries(fileOpts)) logOpts[k] = String(v);
  }
  for (const kv of values["log-opt"] ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new ConfigError(`invalid log-opt ${JSON.stringify(kv)}: want KEY=VALUE`);
    logOpts[kv.slice(0, i)] = kv.slice(i + 1);
  }

  let cgroupParent: string;
  try {
    cgroupParent = normalizeCgroupParent(
      str("cgroup-parent", "cgroup-parent") ?? DEFAULTS.cgroupParent,
    );
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }

  return {
    help: false,
    version: false,
    config: {
      hosts: hosts.length ? hosts : [DEFAULTS.host],
      dataRoot: str("data-root", "data-root") ?? DEFAULTS.dataRoot,
      execRoot: str("exec-root", "exec-root") ?? DEFAULTS.execRoot,
      configFile,
      containerd: str("containerd", "containerd"),
      logLevel: logLevel as DaemonConfig["logLevel"],
      debug,
      group: str("group", "group") ?? DEFAULTS.group,
      registryMirrors: list("registry-mirror", "registry-mirrors"),
      insecureRegistries: list("insecure-registry", "insecure-registries"),
      logOpts,
      cgroupParent,
    },
  };
}

/**
 * A cgroup parent as an absolute cgroupfs path ("berth" and "/berth/" are
 * "/berth"). ".." is refused: a parent must not reach outside the hierarchy.
 */
export function normalizeCgroupParent(raw: string): string {
  const parts = raw.split("/").filter((p) => p && p !== ".");
  if (parts.includes("..")) {
    throw new Error(`invalid cgroup parent "${raw}": ".." is not allowed`);
  }
  if (parts.length === 0) throw new Error(`invalid cgroup parent "${raw}": empty`);
  return "/" + parts.join("/");
}

function readConfigFile(path: string, explicit: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    // dockerd ignores a missing default file but not one it was pointed at.
    if (e instanceof Deno.errors.NotFound && !explicit) return {};
    throw new ConfigError(`unable to read the configuration file ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(
      `invalid JSON in the configuration file ${path}: ${(e as Error).message}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`the configuration file ${path} must hold a JSON object`);
  }
  const unknown = Object.keys(parsed).filter((k) => !(k in FILE_KEYS) && !IGNORED_FILE_KEYS.has(k));
  if (unknown.length) {
    throw new ConfigError(
      `the following directives don't match any configuration option: ${unknown.join(", ")}`,
    );
  }
  return parsed as Record<string, unknown>;
}

export type ListenAddress =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; hostname: string; port: number };

/** Parses a -H address as dockerd does (unix:///path, tcp://host:port, host:port). */
export function parseHost(h: string): ListenAddress {
  if (h.startsWith("unix://")) {
    const path = h.slice("unix://".length);
    if (!path.startsWith("/")) throw new ConfigError(`invalid unix socket address ${h}`);
    return { kind: "unix", path };
  }
  const rest = h.startsWith("tcp://") ? h.slice("tcp://".length) : h;
  const m = /^(\[[0-9a-fA-F:]+\]|[^:/]*):(\d{1,5})$/.exec(rest);
  if (!m || h.includes("://") && !h.startsWith("tcp://")) {
    throw new ConfigError(`invalid listen address ${JSON.stringify(h)}`);
  }
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`invalid port in ${JSON.stringify(h)}`);
  return { kind: "tcp", hostname: m[1].replace(/^\[|\]$/g, "") || "127.0.0.1", port };
}
