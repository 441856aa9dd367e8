/**
 * What a container can leave behind on the host, so tests can assert that
 * nothing is: mounts (lines of /proc/self/mountinfo that mention a test
 * directory), cgroup directories, and processes (whose command line, working
 * directory or environment mentions a test directory; every test bundle puts
 * its directory into process.env as BERTH_TEST_BUNDLE).
 */
import assert from "node:assert/strict";

/** Environment variable put into every test bundle's process.env, to find its processes. */
export const MARKER_ENV = "BERTH_TEST_BUNDLE";

/** Parent cgroup (below each hierarchy's root) of the test containers' cgroups. */
export const TEST_CGROUP_PARENT = "/berth-test";

export interface LeakSnapshot {
  /** mountinfo lines that mention one of the markers. */
  mounts: string[];
  /** Existing cgroup directories among those checked. */
  cgroups: string[];
  /** `pid: cmdline` of processes that mention one of the markers. */
  processes: string[];
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points (in this mount namespace) whose mountinfo line mentions a marker. */
export function mountsMentioning(markers: string[]): { line: string; mountPoint: string }[] {
  const lines = Deno.readTextFileSync("/proc/self/mountinfo").split("\n");
  return lines.filter((l) => l && markers.some((m) => m && l.includes(m))).map((line) => ({
    line,
    mountPoint: unescapeMountPath(line.split(" ")[4]),
  }));
}

/** Mount points of the cgroup hierarchies: v1 ones by controller list, and the cgroup2 one. */
export function cgroupMounts(): {
  mountPoint: string;
  controllers: string[];
  v2: boolean;
  root: string;
}[] {
  const out = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    if (!line) continue;
    const [pre, post] = line.split(" - ");
    const fields = pre.split(" ");
    const [fstype, , superOpts] = post.split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const controllers = fstype === "cgroup2"
      ? []
      : superOpts.split(",").filter((o) => o !== "rw" && o !== "ro" && !o.startsWith("clone_"));
    out.push({
      mountPoint: unescapeMountPath(fields[4]),
      controllers,
      v2: fstype === "cgroup2",
      root: fields[3],
    });
  }
  return out;
}

/**
 * Host directories of the cgroups `pid` belongs to, one per hierarchy
 * (from /proc/PID/cgroup, mapped through the cgroup mounts). The root
 * cgroup of a hierarchy is left out.
 */
export function cgroupDirsOf(pid: number): Record<string, string> {
  const mounts = cgroupMounts();
  const dirs: Record<string, string> = {};
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/cgroup`);
  } catch {
    return dirs;
  }
  for (const line of text.split("\n")) {
    if (!line) continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    const ctrls = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (path === "/") continue;
    const mount = ctrls === ""
      ? mounts.find((m) => m.v2)
      : mounts.find((m) => !m.v2 && m.controllers.join(",") === ctrls);
    if (!mount) continue;
    const rel = mount.root !== "/" && path.startsWith(mount.root)
      ? path.slice(mount.root.length)
      : path;
    dirs[ctrls || "unified"] = mount.mountPoint + rel;
  }
  return dirs;
}

/** The directory of `pid`'s cgroup in the hierarchy holding `controller` (e.g. "memory", "pids"). */
export function cgroupDirOf(pid: number, controller: string): string | undefined {
  const dirs = cgroupDirsOf(pid);
  for (const [ctrls, dir] of Object.entries(dirs)) {
    if (ctrls.split(",").includes(controller)) return dir;
  }
  return dirs["unified"];
}

/** The cgroup directories a test container with this id gets from makeBundle's default cgroupsPath. */
export function testCgroupDirs(id: string): string[] {
  return cgroupMounts().map((m) => `${m.mountPoint}${TEST_CGROUP_PARENT}/${id}`);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readOr(path: string, fallback = ""): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

/** Processes (other than this one) whose cmdline, cwd or environment mentions a marker. */
export function processesMentioning(markers: string[]): string[] {
  const found: string[] = [];
  const self = String(Deno.pid);
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || entry.name === self) continue;
    const base = `/proc/${entry.name}`;
    const cmdline = readOr(`${base}/cmdline`).replaceAll("\0", " ").trim();
    if (!cmdline) continue; // kernel threads and zombies
    let cwd = "";
    try {
      cwd = Deno.readLinkSync(`${base}/cwd`);
    } catch { /* gone or not readable */ }
    const environ = readOr(`${base}/environ`);
    const hit = markers.some((m) =>
      m && (cmdline.includes(m) || cwd.startsWith(m) || environ.includes(m))
    );
    if (hit) found.push(`${entry.name}: ${cmdline}`);
  }
  return found;
}

/** What is left now that mentions `markers`, plus which of `cgroupDirs` still exist. */
export function snapshot(markers: string[], cgroupDirs: string[] = []): LeakSnapshot {
  return {
    mounts: mountsMentioning(markers).map((m) => m.line),
    cgroups: cgroupDirs.filter(exists),
    processes: processesMentioning(markers),
  };
}

/**
 * Asserts that nothing is left: no mount, cgroup directory or process.
 * Processes and cgroups get up to `graceMs` to disappear (a killed process
 * is reaped a moment later).
 */
export async function assertNoLeaks(
  markers: string[],
  cgroupDirs: string[] = [],
  graceMs = 3000,
): Promise<void> {
  const deadline = Date.now() + graceMs;
  let snap = snapshot(markers, cgroupDirs);
  while (
    (snap.processes.length || snap.cgroups.length || snap.mounts.length) && Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 50));
    snap = snapshot(markers, cgroupDirs);
  }
  assert.deepEqual(snap, { mounts: [], cgroups: [], processes: [] }, "leftovers on the host");
}

/**
 * Best-effort removal of whatever a failed test left: kills the processes,
 * lazily unmounts the mounts, and removes empty cgroup directories.
 */
export async function forceCleanup(markers: string[], cgroupDirs: string[] = []): Promise<void> {
  for (const p of processesMentioning(markers)) {
    const pid = Number(p.split(":")[0]);
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  const mounts = mountsMentioning(markers).map((m) => m.mountPoint).reverse();
  for (const mp of mounts) {
    await new Deno.Command("umount", { args: ["-l", mp], stderr: "null", stdout: "null" })
      .output().catch(() => {});
  }
  for (const dir of cgroupDirs) {
    for (let i = 0; i < 20 && exists(dir); i++) {
      try {
        Deno.removeSync(dir);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** Removes the test cgroup parent (`/berth-test`) in every hierarchy if it is empty. */
export function removeTestCgroupParents(): void {
  for (const m of cgroupMounts()) {
    try {
      Deno.removeSync(`${m.mountPoint}${TEST_CGROUP_PARENT}`);
    } catch { /* not there, or still in use */ }
  }
}
