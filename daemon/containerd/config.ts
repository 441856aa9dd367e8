/**
 * containerd's command line and TOML configuration. Flags win over the file,
 * as in containerd. Config keys read: `root`, `state`, `[grpc] address, uid,
 * gid`, `[debug] level`, and berth's shim group size as
 * `[plugins."berth.shim"] group_size` (or `[berth] shim_group_size`).
 */
import { parse as parseToml } from "smol-toml";
import type { Config } from "./context.ts";
import type { Level } from "./log.ts";

export const DEFAULTS = {
  address: "/run/berth/containerd/containerd.sock",
  root: "/var/lib/berth/containerd",
  state: "/run/berth/containerd",
  config: "/etc/berth/containerd/config.toml",
};

/** A usage or configuration error: `exitCode` 2 for bad flags, 1 for a bad config file. */
export class ConfigError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface ParsedArgs {
  help?: boolean;
  version?: boolean;
  config?: Config & { uid?: number };
  configFile?: string;
}

const VALUE_FLAGS: Record<string, string> = {
  a: "address",
  address: "address",
  root: "root",
  state: "state",
  c: "config",
  config: "config",
  l: "log-level",
  "log-level": "log-level",
};
const BOOL_FLAGS: Record<string, string> = {
  h: "help",
  help: "help",
  v: "version",
  version: "version",
};

const LEVELS: Record<string, Level> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  fatal: "error",
  panic: "error",
};

function level(v: string, exitCode = 2): Level {
  const l = LEVELS[v.toLowerCase()];
  if (!l) throw new ConfigError(`not a valid log level: ${JSON.stringify(v)}`, exitCode);
  return l;
}

/** Splits argv as Go's flag package does: -x, --x, -x=v, --x v. */
export function parseFlags(args: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      if (i + 1 < args.length) throw new ConfigError(`unexpected argument ${args[i + 1]}`);
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(a);
    if (!m || a === "-") throw new ConfigError(`unexpected argument ${JSON.stringify(a)}`);
    const [, name, inline] = m;
    if (name in BOOL_FLAGS) {
      if (inline !== undefined && !/^(true|false|1|0)$/.test(inline)) {
        throw new ConfigError(`invalid boolean value ${JSON.stringify(inline)} for -${name}`);
      }
      if (inline === undefined || inline === "true" || inline === "1") out[BOOL_FLAGS[name]] = true;
      continue;
    }
    const key = VALUE_FLAGS[name];
    if (!key) throw new ConfigError(`flag provided but not defined: -${name}`);
    let v = inline;
    if (v === undefined) {
      if (i + 1 >= args.length) throw new ConfigError(`flag needs an argument: -${name}`);
      v = args[++i];
    }
    out[key] = v;
  }
  return out;
}

type Table = Record<string, unknown>;

function table(v: unknown, where: string): Table {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError(`${where}: expected a table`, 1);
  }
  return v as Table;
}

function str(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw new ConfigError(`${where}: expected a path`, 1);
  return v;
}

function int(v: unknown, where: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    throw new ConfigError(`${where}: expected an integer >= ${min}`, 1);
  }
  return n;
}

/** What the config file sets (undefined: not set). */
export interface FileConfig {
  address?: string;
  root?: string;
  state?: string;
  uid?: number;
  gid?: number;
  logLevel?: Level;
  shimGroupSize?: number;
}

export function parseConfigText(text: string, file: string): FileConfig {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (e) {
    throw new ConfigError(`failed to load TOML from ${file}: ${(e as Error).message}`, 1);
  }
  const version = int(doc.version, "version", 1);
  if (version !== undefined && version > 2) {
    throw new ConfigError(`${file}: unsupported config version ${version}`, 1);
  }
  const grpc = table(doc.grpc, "grpc");
  const debug = table(doc.debug, "debug");
  const plugins = table(doc.plugins, "plugins");
  const shim = table(plugins["berth.shim"], 'plugins."berth.shim"');
  const berth = table(doc.berth, "berth");
  const lvl = debug.level;
  if (lvl !== undefined && typeof lvl !== "string") throw new ConfigError("debug.level", 1);
  return {
    root: str(doc.root, "root"),
    state: str(doc.state, "state"),
    address: str(grpc.address, "grpc.address"),
    uid: int(grpc.uid, "grpc.uid", 0),
    gid: int(grpc.gid, "grpc.gid", 0),
    logLevel: lvl ? level(lvl, 1) : undefined,
    shimGroupSize: int(shim.group_size, 'plugins."berth.shim".group_size', 1) ??
      int(berth.shim_group_size, "berth.shim_group_size", 1),
  };
}

function absolute(p: string, what: string): string {
  // containerd's address is a path; tolerate the gRPC target form too.
  if (what === "address" && p.startsWith("unix://")) p = p.slice("unix://".length);
  if (!p.startsWith("/")) throw new ConfigError(`${what} must be an absolute path: ${p}`);
  return p.replace(/\/+$/, "") || "/";
}

export function parseArgs(args: string[]): ParsedArgs {
  const flags = parseFlags(args);
  if (flags.help) return { help: true };
  if (flags.version) return { version: true };
  const configFile = (flags.config as string | undefined) ?? DEFAULTS.config;
  let file: FileConfig = {};
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync(configFile);
  } catch (e) {
    // As containerd: a missing config file means the defaults.
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new ConfigError(`failed to read ${configFile}: ${(e as Error).message}`, 1);
    }
  }
  if (text !== undefined) file = parseConfigText(text, configFile);
  const flagLevel = flags["log-level"] as string | undefined;
  return {
    configFile: text !== undefined ? configFile : undefined,
    config: {
      address: absolute((flags.address as string) ?? file.address ?? DEFAULTS.address, "address"),
      root: absolute((flags.root as string) ?? file.root ?? DEFAULTS.root, "root"),
      state: absolute((flags.state as string) ?? file.state ?? DEFAULTS.state, "state"),
      gid: file.gid,
      uid: file.uid,
      logLevel: flagLevel !== undefined ? level(flagLevel) : file.logLevel ?? "info",
      shimGroupSize: file.shimGroupSize ?? 1,
    },
  };
}
