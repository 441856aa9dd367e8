/**
 * berth's cgroup layer (the "cgroupfs" driver, as in runc): one
 * {@link CgroupManager} per container that creates its cgroup, moves
 * processes in, applies `linux.resources`, reports stats, freezes, lists
 * and finally removes it, on cgroup v1 (and hybrid hosts) or v2 alike.
 *
 * Layout (from /proc/self/mountinfo):
 * - v2: /sys/fs/cgroup is a cgroup2 mount;
 * - v1: cgroup (v1) hierarchies, one per mount (e.g. /sys/fs/cgroup/cpu,cpuacct).
 *   A hybrid host (v1 hierarchies plus a cgroup2 at /sys/fs/cgroup/unified,
 *   which holds few or no controllers) is treated as v1.
 *   As runc does, a container joins every hierarchy: the controllers', the
 *   named ones without controllers (name=systemd, which systemd in a
 *   container needs) and a hybrid host's cgroup2 (path key "unified").
 *
 * cgroupsPath: "/a/b" is that path below the root of every hierarchy; a
 * relative "a/b" is taken from the root too (runc would take it from its own
 * cgroup; berth's own cgroup is no meaningful parent); an empty or absent
 * path is "/berth/<id>". ".." is refused. systemd's "slice:prefix:name"
 * syntax is not interpreted (no systemd driver): it is a directory name.
 */

import type { CgroupManager } from "./types.ts";
import { V1Manager } from "./v1.ts";
import { V2Manager } from "./v2.ts";

export type { CgroupManager, SetOptions } from "./types.ts";
export type * from "./stats.ts";
export { statsJSON, UINT64_MAX } from "./stats.ts";
export { containerDeviceRules, DEFAULT_DEVICE_RULES } from "./devices.ts";

/** Where the cgroup hierarchies are mounted. */
export type CgroupLayout =
  | { version: 2; root: string }
  | {
    version: 1;
    /** Controller (or "name=..." hierarchy) → mount point (comounted controllers share one). */
    mounts: Record<string, string>;
    /** The cgroup2 mount of a hybrid host, if any (not used for limits). */
    unified?: string;
  };

/** The v1 controllers berth knows (named hierarchies, "name=...", are joined too). */
const V1_CONTROLLERS = new Set([
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "blkio",
  "pids",
  "hugetlb",
  "net_cls",
  "net_prio",
  "perf_event",
  "rdma",
  "misc",
]);

/** Mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8)));

/** Reads the cgroup layout from a mountinfo text (exported for tests). */
export function parseLayout(mountinfo: string): CgroupLayout {
  const mounts: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const [fstype, , superOpts = ""] = line.slice(sep + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const mountPoint = unescape(line.slice(0, sep).split(" ")[4]);
    if (fstype === "cgroup2") {
      if (mountPoint === "/sys/fs/cgroup") return { version: 2, root: mountPoint };
      unified ??= mountPoint;
      continue;
    }
    for (const opt of superOpts.split(",")) {
      // The first mount of a hierarchy wins (later ones are usually bind mounts).
      if (V1_CONTROLLERS.has(opt) || opt.startsWith("name=")) mounts[opt] ??= mountPoint;
    }
  }
  if (Object.keys(mounts).length) return { version: 1, mounts, unified };
  // No v1 hierarchy: a cgroup2 mounted somewhere else is the only hierarchy.
  if (unified) return { version: 2, root: unified };
  throw new Error("cgroup: no cgroup filesystem is mounted (see /proc/self/mountinfo)");
}

/** The path key, on a v1 host, of a hybrid host's cgroup2 hierarchy. */
export const HYBRID_UNIFIED = "unified";

let cached: CgroupLayout | undefined;

/** This host's cgroup layout (read once per process). */
export function detectLayout(): CgroupLayout {
  return cached ??= parseLayout(Deno.readTextFileSync("/proc/self/mountinfo"));
}

/** The cgroup version berth uses here: 2 on a pure v2 host, 1 on v1 and hybrid hosts. */
export function cgroupVersion(): 1 | 2 {
  return detectLayout().version;
}

/**
 * The normalized cgroup path ("/a/b") for a container: see the module
 * comment for the rules. Throws on ".." and on the root itself.
 */
export function resolveCgroupPath(cgroupsPath: string | undefined, id: string): string {
  const raw = cgroupsPath || `/berth/${id}`;
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new Error(`cgroup: invalid cgroupsPath "${raw}": ".." segments are not allowed`);
  }
  if (!parts.length) {
    throw new Error(`cgroup: invalid cgroupsPath "${raw}": the root cgroup cannot be used`);
  }
  return "/" + parts.join("/");
}

/**
 * The manager of a new container's cgroup (nothing is created until
 * `create()`). `layout` defaults to this host's; pass one to place the
 * cgroup elsewhere (tests use a v2 layout rooted at a hybrid host's
 * /sys/fs/cgroup/unified).
 */
export function newCgroupManager(
  cgroupsPath: string | undefined,
  id: string,
  layout: CgroupLayout = detectLayout(),
): CgroupManager {
  const path = resolveCgroupPath(cgroupsPath, id);
  if (layout.version === 2) return new V2Manager(layout.root + path);
  const paths: Record<string, string> = {};
  for (const [ctrl, mount] of Object.entries(layout.mounts)) paths[ctrl] = mount + path;
  if (layout.unified) paths[HYBRID_UNIFIED] = layout.unified + path;
  return new V1Manager(paths);
}

/**
 * Starts, in the background, a move of this process into the cgroup it is
 * already in (a no-op), so that a real move made soon after is fast. The
 * first migration after a quiet spell waits in the kernel for an RCU grace
 * period (the write lock of the global cgroup_threadgroup_rwsem; 5-15 ms
 * here), then, for about one more grace period, further ones do not. create
 * calls this while its init starts up, before it moves the init in.
 * Best effort: whatever fails is ignored.
 */
export function primeMigration(layout: CgroupLayout = detectLayout()): void {
  try {
    const lines = Deno.readTextFileSync("/proc/self/cgroup").split("\n");
    let file: string | undefined;
    const v2 = lines.find((l) => l.startsWith("0::"))?.slice(3);
    if (layout.version === 2 || layout.unified) {
      const root = layout.version === 2 ? layout.root : layout.unified!;
      if (v2 !== undefined) file = `${root}${v2 === "/" ? "" : v2}/cgroup.procs`;
    } else {
      for (const line of lines) {
        const [, ctrl, path] = line.split(":");
        const mount = ctrl && layout.mounts[ctrl.split(",")[0]];
        if (mount && path) {
          file = `${mount}${path === "/" ? "" : path}/cgroup.procs`;
          break;
        }
      }
    }
    if (file) Deno.writeTextFile(file, String(Deno.pid), { create: false }).catch(() => {});
  } catch { /* only an optimisation */ }
}

/** The manager of an existing cgroup, from the `paths` saved in a container's state. */
export function loadCgroupManager(paths: Record<string, string>): CgroupManager {
  for (const dir of Object.values(paths)) {
    if (!dir.startsWith("/") || dir.split("/").includes("..")) {
      throw new Error(`cgroup: invalid saved cgroup path "${dir}"`);
    }
  }
  if ("" in paths) return new V2Manager(paths[""]);
  return new V1Manager({ ...paths });
}
