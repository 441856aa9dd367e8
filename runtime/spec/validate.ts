/**
 * Reads a bundle's config.json and checks the whole of it before anything
 * touches the kernel. Every error names the field it is about. Fields the
 * runtime does not implement are refused, never silently ignored.
 */
import type { Namespace, NamespaceType, Spec } from "./types.ts";
import { RLIMIT } from "../linux/libc.ts";
import { validateCapabilities } from "../linux/capabilities.ts";
import { validateSeccomp } from "../linux/seccomp.ts";

export class ConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`config.json: ${field}: ${problem}`);
    this.name = "ConfigError";
  }
}

const NAMESPACES: NamespaceType[] = [
  "pid",
  "network",
  "mount",
  "ipc",
  "uts",
  "user",
  "cgroup",
  "time",
];
const PROPAGATION = [
  "",
  "private",
  "rprivate",
  "slave",
  "rslave",
  "shared",
  "rshared",
  "unbindable",
  "runbindable",
];

/** Loads `<bundle>/config.json`, validates it and resolves the rootfs path. */
export function loadSpec(bundle: string): { spec: Spec; rootfs: string; warnings: string[] } {
  const path = `${bundle}/config.json`;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${path} does not exist: is ${bundle} an OCI bundle?`);
    }
    throw e;
  }
  let spec: Spec;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const warnings = validateSpec(spec);
  const rootPath = spec.root!.path;
  const rootfs = rootPath.startsWith("/") ? rootPath : `${bundle}/${rootPath}`;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(rootfs);
  } catch {
    throw new ConfigError("root.path", `rootfs ${rootfs} does not exist`);
  }
  if (!info.isDirectory) throw new ConfigError("root.path", `rootfs ${rootfs} is not a directory`);
  return { spec, rootfs: Deno.realPathSync(rootfs), warnings };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function refuse(field: string, value: unknown, what = "is not supported by berth") {
  if (value === undefined || value === null) return;
  if (Array.isArray(value) && value.length === 0) return;
  if (typeof value === "string" && value === "") return;
  throw new ConfigError(field, what);
}

function stringArray(field: string, v: unknown): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new ConfigError(field, "must be an array of strings");
  }
}

function uint(field: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new ConfigError(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
}

/**
 * Throws a {@link ConfigError} for the first problem found in `spec`;
 * returns warnings about what is accepted but has no effect here.
 */
export function validateSpec(spec: Spec): string[] {
  const warnings: string[] = [];
  if (!isObject(spec as unknown)) throw new ConfigError("(document)", "must be a JSON object");
  if (typeof spec.ociVersion !== "string" || !/^1\.\d+\.\d+/.test(spec.ociVersion)) {
    throw new ConfigError(
      "ociVersion",
      `unsupported version ${JSON.stringify(spec.ociVersion)} (want 1.x.y)`,
    );
  }
  if (
    !isObject(spec.root as unknown) || typeof spec.root?.path !== "string" || spec.root.path === ""
  ) {
    throw new ConfigError("root.path", "is required");
  }
  validateProcess(spec, warnings);
  validateLinux(spec);
  if (spec.hostname !== undefined && typeof spec.hostname !== "string") {
    throw new ConfigError("hostname", "must be a string");
  }
  const ns = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  for (const key of ["hostname", "domainname"] as const) {
    if (spec[key] && !ns.has("uts")) {
      throw new ConfigError(key, "needs a new uts namespace (linux.namespaces has no uts)");
    }
  }
  (spec.mounts ?? []).forEach((m, i) => {
    const f = `mounts[${i}]`;
    if (!isObject(m as unknown) || typeof m.destination !== "string" || m.destination === "") {
      throw new ConfigError(`${f}.destination`, "is required");
    }
    if (m.destination.split("/").includes("..")) {
      throw new ConfigError(`${f}.destination`, `"${m.destination}" must not contain ".."`);
    }
    stringArray(`${f}.options`, m.options);
    refuse(`${f}.uidMappings`, m.uidMappings, "id-mapped mounts are not supported by berth");
    refuse(`${f}.gidMappings`, m.gidMappings, "id-mapped mounts are not supported by berth");
  });
  for (const [phase, hooks] of Object.entries(spec.hooks ?? {})) {
    if (
      !["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
        .includes(phase)
    ) {
      throw new ConfigError(`hooks.${phase}`, "unknown hook phase");
    }
    (hooks as unknown[]).forEach((h, i) => {
      const f = `hooks.${phase}[${i}]`;
      if (!isObject(h) || typeof h.path !== "string" || !h.path.startsWith("/")) {
        throw new ConfigError(`${f}.path`, "must be an absolute path");
      }
      stringArray(`${f}.args`, h.args);
      stringArray(`${f}.env`, h.env);
      if (h.timeout !== undefined && (typeof h.timeout !== "number" || h.timeout <= 0)) {
        throw new ConfigError(`${f}.timeout`, "must be a positive number of seconds");
      }
    });
  }
  return warnings;
}

function validateProcess(spec: Spec, warnings: string[]): void {
  const p = spec.process;
  if (!isObject(p as unknown) || !p) throw new ConfigError("process", "is required");
  if (!Array.isArray(p.args) || p.args.length === 0) {
    throw new ConfigError("process.args", "must not be empty");
  }
  stringArray("process.args", p.args);
  stringArray("process.env", p.env);
  refuse("process.commandLine", p.commandLine, "is for Windows only");
  if (typeof p.cwd !== "string" || !p.cwd.startsWith("/")) {
    throw new ConfigError("process.cwd", `must be an absolute path, got ${JSON.stringify(p.cwd)}`);
  }
  if (!isObject(p.user as unknown)) throw new ConfigError("process.user", "is required");
  uint("process.user.uid", p.user.uid);
  uint("process.user.gid", p.user.gid);
  uint("process.user.umask", p.user.umask);
  (p.user.additionalGids ?? []).forEach((g, i) => uint(`process.user.additionalGids[${i}]`, g));
  refuse("process.user.username", p.user.username, "is for Windows only");
  if (p.consoleSize && !p.terminal) {
    throw new ConfigError("process.consoleSize", "needs process.terminal");
  }
  if (p.capabilities) {
    try {
      warnings.push(
        ...validateCapabilities(p.capabilities).map((c) =>
          `${c} is not known to this kernel: ignored`
        ),
      );
    } catch (e) {
      throw new ConfigError(
        "process.capabilities",
        (e as Error).message.replace(/^process\.capabilities\.?/, ""),
      );
    }
  }
  const permitted = new Set(p.capabilities?.permitted ?? []);
  const notPermitted = (p.capabilities?.effective ?? []).filter((c) => !permitted.has(c));
  if (notPermitted.length) {
    throw new ConfigError(
      "process.capabilities.effective",
      `${notPermitted.join(", ")} must also be in permitted`,
    );
  }
  const seen = new Set<string>();
  (p.rlimits ?? []).forEach((r, i) => {
    const f = `process.rlimits[${i}]`;
    if (!(r.type in RLIMIT)) throw new ConfigError(`${f}.type`, `unknown rlimit "${r.type}"`);
    if (seen.has(r.type)) throw new ConfigError(`${f}.type`, `"${r.type}" is set twice`);
    seen.add(r.type);
    uint(`${f}.soft`, r.soft);
    uint(`${f}.hard`, r.hard);
    if (r.soft > r.hard) {
      throw new ConfigError(f, `soft limit ${r.soft} is above the hard limit ${r.hard}`);
    }
  });
  if (
    p.oomScoreAdj !== undefined &&
    (!Number.isInteger(p.oomScoreAdj) || p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)
  ) {
    throw new ConfigError("process.oomScoreAdj", "must be an integer from -1000 to 1000");
  }
  refuse("process.apparmorProfile", p.apparmorProfile, "AppArmor is not supported by berth");
  refuse("process.selinuxLabel", p.selinuxLabel, "SELinux is not supported by berth");
  refuse("process.ioPriority", p.ioPriority);
  refuse("process.scheduler", p.scheduler);
  refuse("process.execCPUAffinity", p.execCPUAffinity);
}

function validateLinux(spec: Spec): void {
  const l = spec.linux;
  if (l === undefined) return;
  if (!isObject(l as unknown)) throw new ConfigError("linux", "must be an object");
  const seen = new Set<string>();
  (l.namespaces ?? []).forEach((n: Namespace, i) => {
    const f = `linux.namespaces[${i}]`;
    if (!NAMESPACES.includes(n.type)) {
      throw new ConfigError(`${f}.type`, `unknown namespace "${n.type}"`);
    }
    if (seen.has(n.type)) {
      throw new ConfigError(`${f}.type`, `namespace "${n.type}" is listed twice`);
    }
    seen.add(n.type);
    if (n.type === "user") {
      throw new ConfigError(
        f,
        "user namespaces are not supported by berth (a multi-threaded runtime cannot enter them)",
      );
    }
    if (n.type === "time") throw new ConfigError(f, "time namespaces are not supported by berth");
    if (n.path !== undefined && (typeof n.path !== "string" || !n.path.startsWith("/"))) {
      throw new ConfigError(`${f}.path`, "must be an absolute path");
    }
  });
  refuse(
    "linux.uidMappings",
    l.uidMappings,
    "needs a user namespace, which berth does not support",
  );
  refuse(
    "linux.gidMappings",
    l.gidMappings,
    "needs a user namespace, which berth does not support",
  );
  refuse("linux.timeOffsets", l.timeOffsets);
  refuse("linux.personality", l.personality);
  refuse("linux.intelRdt", l.intelRdt);
  refuse("linux.mountLabel", l.mountLabel, "SELinux is not supported by berth");
  if (l.rootfsPropagation !== undefined && !PROPAGATION.includes(l.rootfsPropagation)) {
    throw new ConfigError(
      "linux.rootfsPropagation",
      `unknown propagation "${l.rootfsPropagation}"`,
    );
  }
  stringArray("linux.maskedPaths", l.maskedPaths);
  stringArray("linux.readonlyPaths", l.readonlyPaths);
  (l.devices ?? []).forEach((d, i) => {
    const f = `linux.devices[${i}]`;
    if (!["c", "b", "u", "p"].includes(d.type)) {
      throw new ConfigError(`${f}.type`, `unknown device type "${d.type}"`);
    }
    if (
      typeof d.path !== "string" || !d.path.startsWith("/dev/") || d.path.split("/").includes("..")
    ) {
      throw new ConfigError(
        `${f}.path`,
        `must be a path under /dev, got ${JSON.stringify(d.path)}`,
      );
    }
    if (d.type !== "p") {
      uint(`${f}.major`, d.major);
      uint(`${f}.minor`, d.minor);
      if (d.major === undefined || d.minor === undefined) {
        throw new ConfigError(f, "major and minor are required");
      }
    }
  });
  const ns = new Set((l.namespaces ?? []).map((n) => n.type));
  for (const [key, value] of Object.entries(l.sysctl ?? {})) {
    if (typeof value !== "string") throw new ConfigError(`linux.sysctl.${key}`, "must be a string");
    const needs = sysctlNamespace(key);
    if (!needs) {
      throw new ConfigError(`linux.sysctl.${key}`, "is not namespaced and would change the host");
    }
    if (!ns.has(needs)) {
      throw new ConfigError(`linux.sysctl.${key}`, `needs a new ${needs} namespace`);
    }
  }
  const r = l.resources;
  if (r) {
    refuse("linux.resources.network", r.network);
    refuse("linux.resources.rdma", r.rdma);
  }
  if (l.seccomp) {
    try {
      validateSeccomp(l.seccomp);
    } catch (e) {
      throw new ConfigError(
        "linux.seccomp",
        (e as Error).message.replace(/^linux\.seccomp\.?/, ""),
      );
    }
  }
}

/** The namespace that makes a sysctl safe to set, as runc decides it. */
function sysctlNamespace(key: string): NamespaceType | undefined {
  if (
    [
      "kernel.msgmax",
      "kernel.msgmnb",
      "kernel.msgmni",
      "kernel.sem",
      "kernel.shmall",
      "kernel.shmmax",
      "kernel.shmmni",
      "kernel.shm_rmid_forced",
    ].includes(key) || key.startsWith("fs.mqueue.")
  ) {
    return "ipc";
  }
  if (key.startsWith("net.")) return "network";
  if (key === "kernel.hostname" || key === "kernel.domainname") return "uts";
  return undefined;
}
